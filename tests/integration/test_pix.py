"""PIX imports (plugins/pix): Pix Orga exports as Pix writes them, matching,
idempotence, per-line errors, results and suggested level, roles, and a
100,000-row file streamed to the server (spooled to a file, not memory)."""
import http.client
import os
import sys
import time
from urllib.parse import quote

sys.path.insert(0, os.path.dirname(__file__))
from harness import problem, run  # noqa: E402

# ASan keeps freed memory in a quarantine (256 MiB by default) that would
# show in the server's peak RSS and hide what the import itself holds.
os.environ["ASAN_OPTIONS"] = ":".join(
    x for x in [os.environ.get("ASAN_OPTIONS", ""), "quarantine_size_mb=16"] if x)

HERE = os.path.join(os.path.dirname(__file__), "pix")
IMPORT = "/api/v1/imports/pix"
B = "/api/v1/beneficiaries"
import harness  # noqa: E402

_Relais = harness.Relais


class PixRelais(_Relais):
    def __init__(self, extra_config="", **kw):
        super().__init__(extra_config='plugins = {"pix"}\n' + extra_config, **kw)


harness.Relais = PixRelais


def data(name):
    with open(os.path.join(HERE, name), "rb") as f:
        return f.read()


def person(r, first, last, **kw):
    body = {"first_name": first, "last_name": last}
    body.update(kw)
    return r.ok("POST", B, body, expect=201)["id"]


def post(r, raw, query="", token="admin"):
    return r.req("POST", IMPORT + query, raw=raw, token=token,
                 headers={"Content-Type": "text/csv"})


def results(r, bid):
    st, out, _ = r.req("GET", "%s/%d/pix" % (B, bid))
    assert st == 200, out
    return out


def db_counts(r):
    return (r.db("SELECT count(*) FROM pix_participations")[0][0],
            r.db("SELECT count(*) FROM pix_competences")[0][0])


# --- profile collection: BOM, LF, quoted ';' and '""', external id -------------

def test_profiles_bom_external_id_and_names(r):
    elodie = person(r, "Élodie", "Lefèvre", external_id="FT-0042")
    jp = person(r, "Jean-Pierre", "Martin")
    st, out, _ = post(r, data("profiles_bom_lf.csv"))
    assert st == 200, out
    # Élodie by external id, MARTIN / jean-pierre by name (case, hyphen);
    # Durand did not send, and nobody has that name.
    # Who was not matched is named, so that they can be registered.
    assert out == {"rows": 3, "matched": 2, "unmatched": 1, "errors": [],
                   "unmatched_rows": [{"line": 4, "last_name": "Durand", "first_name": "Paul",
                                       "external_id": None}]}, out
    res = results(r, elodie)
    assert len(res["items"]) == 1
    it = res["items"][0]
    assert it["campaign"] == "Collecte 2026" and it["campaign_code"] == "PROCOL123"
    assert it["date"] == "2026-01-15T00:00:00Z" and it["total_pix"] == 152
    assert len(it["competences"]) == 16
    assert it["competences"][0] == {"code": "1.1", "name": "Mener une recherche et une veille d’information",
                                    "level": 2, "pix": 19, "mastery": None}
    assert it["mastery"] is None
    assert [c["code"] for c in it["competences"]][-1] == "5.2"
    # Mean level 10/16 = 0.625 < 1 → level 1.
    assert res["suggested_level"] == 1
    assert results(r, jp)["items"][0]["total_pix"] == 48


def test_reimport_changes_nothing(r):
    person(r, "Élodie", "Lefèvre", external_id="FT-0042")
    person(r, "Jean-Pierre", "Martin")
    body = data("profiles_bom_lf.csv")
    st, first, _ = post(r, body)
    assert st == 200, first
    before = db_counts(r)
    rows = r.db("SELECT * FROM pix_participations ORDER BY id")
    st, again, _ = post(r, body)
    assert st == 200 and again == first, again
    assert db_counts(r) == before == (2, 32)
    assert r.db("SELECT * FROM pix_participations ORDER BY id") == rows


def test_erasure_removes_results(r):
    # Right to erasure: the results go with the person, in the same request.
    elodie = person(r, "Élodie", "Lefèvre", external_id="FT-0042")
    jp = person(r, "Jean-Pierre", "Martin")
    st, out, _ = post(r, data("profiles_bom_lf.csv"))
    assert st == 200 and out["matched"] == 2, out
    assert db_counts(r) == (2, 32)
    r.ok("DELETE", "%s/%d" % (B, elodie), expect=204)
    assert r.db("SELECT count(*) FROM pix_participations WHERE beneficiary_id = ?",
                elodie)[0][0] == 0
    assert db_counts(r) == (1, 16)             # Jean-Pierre's stay
    st, out, _ = r.req("GET", "%s/%d/pix" % (B, elodie))
    assert st == 404, out
    assert results(r, jp)["items"][0]["total_pix"] == 48


def test_name_matching_ambiguous_is_unmatched(r):
    person(r, "Elodie", "LEFEVRE")             # no external id: by name
    person(r, "Jean-Pierre", "Martin")
    person(r, "Jean Pierre", "MARTIN")         # the same folded name twice
    st, out, _ = post(r, data("profiles_bom_lf.csv"))
    assert st == 200, out
    assert (out["matched"], out["unmatched"]) == (1, 2), out
    assert [(u["line"], u["last_name"], u["first_name"]) for u in out["unmatched_rows"]] == \
        [(3, "MARTIN", "jean-pierre"), (4, "Durand", "Paul")], out


def test_unmatched_rows_name_everyone_to_register(r):
    # Nobody registered yet: every participant is listed, as Pix wrote them,
    # with the campaign's external id when the file has one.
    st, out, _ = post(r, data("profiles_bom_lf.csv"))
    assert st == 200 and out["matched"] == 0, out
    assert out["unmatched_rows"] == [
        {"line": 2, "last_name": "Lefèvre", "first_name": "Élodie", "external_id": "FT-0042"},
        {"line": 3, "last_name": "MARTIN", "first_name": "jean-pierre", "external_id": None},
        {"line": 4, "last_name": "Durand", "first_name": "Paul", "external_id": None}], out
    # Registered with what the list says, the next import matches them all.
    for u in out["unmatched_rows"]:
        person(r, u["first_name"], u["last_name"], **({"external_id": u["external_id"]}
                                                      if u["external_id"] else {}))
    st, out, _ = post(r, data("profiles_bom_lf.csv"))
    assert (out["matched"], out["unmatched"], out["unmatched_rows"]) == (3, 0, []), out


# --- assessment: no BOM, CRLF, old label, multi-line field, bad lines ---------

def test_assessment_crlf_old_label_and_bad_lines(r):
    elodie = person(r, "Élodie", "Lefèvre", external_id="-0042")
    jp = person(r, "Jean-Pierre", "Martin")
    st, out, _ = post(r, data("assessment_crlf_old_label.csv"))
    assert st == 200, out
    assert out["rows"] == 5, out
    # Each record starts two physical lines after the last (a quoted
    # field holds a line break): the bad ones start on lines 6 and 8.
    assert out["errors"] == [
        {"line": 6, "message": "la ligne a 27 champs alors que l'en-tête en a 28"},
        {"line": 8, "message": "la date de partage n'est pas de la forme JJ/MM/AAAA HH:mm"}], out
    assert (out["matched"], out["unmatched"]) == (3, 0), out
    res = results(r, elodie)
    # Latest first; 14:30 in Paris in March is 13:30 UTC, 10:00 in July 08:00 UTC.
    assert [i["date"] for i in res["items"]] == ["2026-07-01T08:00:00Z", "2026-03-12T13:30:00Z"]
    it = res["items"][1]
    assert it["campaign"] == "Évaluation; premiers pas" and it["campaign_code"] == "EVAL2026"
    assert it["total_pix"] is None
    # The empty cell of the third competence is left out; no levels in an
    # assessment, but mastery rates (what the console shows as percentages).
    assert it["mastery"] == 0.67, it
    assert it["competences"] == [
        {"code": "1.2", "name": "Gérer des données", "level": None, "pix": None, "mastery": 0.5},
        {"code": "2.1", "name": "Interagir", "level": None, "pix": None, "mastery": 1}], it
    assert res["suggested_level"] is None
    # Martin shared nothing (Partage Non, NA): matched but nothing kept.
    assert results(r, jp)["items"] == []
    assert r.db("SELECT mastery FROM pix_competences ORDER BY rowid LIMIT 1")[0][0] == 0.5


# --- profile collection: 16 competences, new date label, chosen id column -----

def test_profiles_external_id_column_and_empty_competences(r):
    elodie = person(r, "Elodie", "Lefevre", external_id="C-1")
    lan = person(r, "Lan", "Nguyen", external_id="C-2")
    # By default the id column is the one just before "Envoi (O/N)": Groupe.
    st, out, _ = post(r, data("profiles_16_card.csv"))
    assert st == 200, out
    assert (out["matched"], out["unmatched"]) == (2, 1), out   # by name then
    r.db("SELECT 1")
    st, out, _ = post(r, data("profiles_16_card.csv"),
                      "?external_id_column=" + quote("Numéro de carte"))
    assert st == 200 and (out["matched"], out["unmatched"]) == (2, 1), out
    res = results(r, elodie)
    assert res["items"][0]["date"] == "2026-04-05T14:45:00Z"   # Paris summer time
    assert res["items"][0]["campaign_code"] is None             # no Code column
    assert len(res["items"][0]["competences"]) == 16
    assert res["suggested_level"] == 3                          # mean 3.06
    lan_res = results(r, lan)
    assert lan_res["items"][0]["competences"] == [] and lan_res["suggested_level"] is None
    st, out, _ = post(r, data("profiles_16_card.csv"), "?external_id_column=Nope")
    assert st == 400, out


def test_suggested_level_rule_and_latest(r):
    bid = person(r, "Ana", "Lopes", external_id="X1")

    def csv(date, levels):
        head = ["Nom de l'organisation", "ID Campagne", "Nom de la campagne",
                "Nom du Participant", "Prénom du Participant", "Identifiant",
                "Envoi (O/N)", "Date de l'envoi", "Nombre de pix total"]
        head += ["Niveau pour la compétence Interagir", "Nombre de pix pour la compétence Interagir",
                 "Niveau pour la compétence Programmer", "Nombre de pix pour la compétence Programmer"]
        row = ["O", "5", "C", "Lopes", "Ana", "X1", "Oui", date, "0",
               str(levels[0]), "8", str(levels[1]), "8"]
        return (";".join('"%s"' % h for h in head) + "\n" + ";".join(row) + "\n").encode()

    for date, levels, want in [("2026-01-01", (0, 1), 1), ("2026-02-01", (1, 2), 2),
                               ("2026-03-01", (2, 4), 3), ("2025-12-01", (0, 0), 3)]:
        st, out, _ = post(r, csv(date, levels))
        assert st == 200 and out["matched"] == 1 and out["errors"] == [], out
        res = results(r, bid)
        # The latest results decide, whatever order the files came in.
        assert res["suggested_level"] == want, (date, res)
    assert [i["date"][:10] for i in results(r, bid)["items"]] == [
        "2026-03-01", "2026-02-01", "2026-01-01", "2025-12-01"]


# --- refusals, roles -----------------------------------------------------------

def test_not_a_pix_export_and_roles(r):
    st, out, _ = post(r, b"")
    problem(r, 400, out)
    st, out, _ = post(r, b"a;b;c\n1;2;3\n")
    problem(r, 400, out)
    trainer = r.token("trainer")
    st, out, _ = post(r, data("profiles_bom_lf.csv"), token=trainer)
    problem(r, 403, out)
    st, out, _ = r.req("POST", IMPORT, raw=b"x", token=None)
    problem(r, 401, out)
    bid = person(r, "Ana", "Lopes")
    st, out, _ = r.req("GET", "%s/%d/pix" % (B, bid), token=trainer)
    problem(r, 403, out)
    st, out, _ = r.req("GET", "%s/%d/pix" % (B, bid), token="coordinator")
    assert st == 200 and out == {"items": [], "suggested_level": None}, out
    st, out, _ = r.req("GET", "%s/999999/pix" % B)
    problem(r, 404, out)
    st, out, _ = r.req("GET", "%s/%d/pix" % (B, bid), token=None)
    problem(r, 401, out)


def test_invalid_utf8_line_and_chunked_upload(r):
    person(r, "Élodie", "Lefèvre", external_id="FT-0042")
    lines = data("profiles_bom_lf.csv").split(b"\n")
    lines[2] = lines[2].replace(b"MARTIN", b"MAR\xffTIN")
    body = b"\n".join(lines)
    c = http.client.HTTPConnection("127.0.0.1", r.port, timeout=30)
    c.putrequest("POST", IMPORT)
    c.putheader("Authorization", "Bearer " + r.tokens["admin"])
    c.putheader("Transfer-Encoding", "chunked")
    c.endheaders()
    for i in range(0, len(body), 700):
        part = body[i:i + 700]
        c.send(b"%x\r\n%s\r\n" % (len(part), part))
    c.send(b"0\r\n\r\n")
    resp = c.getresponse()
    import json
    out = json.loads(resp.read())
    c.close()
    assert resp.status == 200, out
    assert out["errors"] == [{"line": 3, "message": "la ligne n'est pas en UTF-8 valide"}], out
    assert (out["rows"], out["matched"], out["unmatched"]) == (3, 1, 1), out


def test_keep_alive_and_pipelined_uploads(r):
    """Spooled and ordinary requests share a connection, one after the
    other and pipelined: the framing finds every request's start."""
    import json
    import socket
    person(r, "Élodie", "Lefèvre", external_id="FT-0042")
    body = data("profiles_bom_lf.csv")
    auth = "Bearer " + r.tokens["admin"]
    c = http.client.HTTPConnection("127.0.0.1", r.port, timeout=30)
    for method, path, payload in [("GET", "/health", None), ("POST", IMPORT, body),
                                  ("POST", B, json.dumps({"first_name": "X", "last_name": "Y"}).encode()),
                                  ("POST", IMPORT, body), ("GET", "/health", None)]:
        h = {"Authorization": auth, "Content-Type": "application/json" if path == B else "text/csv"}
        c.request(method, path, body=payload, headers=h)
        resp = c.getresponse()
        out = resp.read()
        assert resp.status in (200, 201), (path, resp.status, out)
        if path == IMPORT:
            assert json.loads(out)["matched"] == 1, out
    c.close()
    # Pipelined: three requests in one write, the upload in the middle.
    head = ("POST %s HTTP/1.1\r\nHost: x\r\nAuthorization: %s\r\nContent-Length: %d\r\n\r\n"
            % (IMPORT, auth, len(body))).encode()
    get = b"GET /health HTTP/1.1\r\nHost: x\r\n\r\n"
    s = socket.create_connection(("127.0.0.1", r.port), timeout=10)
    s.sendall(get + head + body + get)
    got = b""
    while got.count(b"HTTP/1.1 200") < 3:
        chunk = s.recv(65536)
        assert chunk, got
        got += chunk
    s.close()
    assert b'"matched":1' in got, got


# --- 100,000 rows, streamed ----------------------------------------------------

def big_file(path, n, people):
    """A profile-collection export of N rows over PEOPLE external ids (one
    participation per minute, so that each row is a participation of its
    own), with every other name unknown."""
    names = ["Mener une recherche et une veille d’information", "Gérer des données",
             "Traiter des données", "Interagir", "Partager et publier", "Collaborer",
             "S’insérer dans le monde numérique", "Développer des documents textuels",
             "Développer des documents multimédia", "Adapter les documents à leur finalité",
             "Programmer", "Sécuriser l’environnement numérique",
             "Protéger les données personnelles et la vie privée",
             "Protéger la santé, le bien-être et l’environnement",
             "Résoudre des problèmes techniques", "Construire un environnement numérique"]
    head = ["Nom de l'organisation", "ID Campagne", "Code", "Nom de la campagne",
            "Nom du Participant", "Prénom du Participant", "Identifiant externe",
            "Envoi (O/N)", "Date et heure de l'envoi (Europe/Paris)", "Nombre de pix total",
            "Certifiable (O/N)", "Nombre de compétences certifiables"]
    for c in names:
        head += ["Niveau pour la compétence " + c, "Nombre de pix pour la compétence " + c]
    levels = ";".join("%d;%d" % (i % 4, (i % 4) * 8 + 5) for i in range(16))
    with open(path, "w", encoding="utf-8", newline="") as f:
        f.write("\ufeff" + ";".join('"%s"' % h for h in head) + "\n")
        for i in range(n):
            ext = "P%04d" % (i % people) if i % 2 == 0 else "Z%07d" % i
            day, minute = divmod(i, 1440)
            f.write('"Médiathèque municipale ""Centre""; réseau des bibliothèques de Chambéry '
                    'Grand Lac";4242;"BIG2026";"Grande collecte de profils 2026 — quartiers prioritaires";'
                    '"Nom%d";"Prénom%d";"%s";"Oui";"%02d/%02d/2026 %02d:%02d";200;"Oui";12;%s\n'
                    % (i, i, ext, 1 + day % 28, 1 + day // 28, minute // 60, minute % 60, levels))


def stream(r, path, chunk=1 << 16):
    size = os.path.getsize(path)
    c = http.client.HTTPConnection("127.0.0.1", r.port, timeout=600)
    c.putrequest("POST", IMPORT)
    c.putheader("Authorization", "Bearer " + r.tokens["admin"])
    c.putheader("Content-Type", "text/csv")
    c.putheader("Content-Length", str(size))
    c.endheaders()
    with open(path, "rb") as f:
        while True:
            part = f.read(chunk)
            if not part:
                break
            c.send(part)
    resp = c.getresponse()
    import json
    out = json.loads(resp.read())
    c.close()
    return resp.status, out


def vm_hwm_kib(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    raise AssertionError("no VmHWM")


def test_100k_rows_streamed(r):
    people = 50
    for i in range(people):
        person(r, "P%d" % i, "Big", external_id="P%04d" % i)
    path = os.path.join(r.dir, "big.csv")
    big_file(path, 100000, people)
    size = os.path.getsize(path)
    assert size > 30 * 1000 * 1000, size
    base = vm_hwm_kib(r.proc.pid)
    t0 = time.time()
    st, out = stream(r, path)
    secs = time.time() - t0
    assert st == 200, out
    assert {k: out[k] for k in ("rows", "matched", "unmatched", "errors")} == \
        {"rows": 100000, "matched": 50000, "unmatched": 50000, "errors": []}, \
        {k: out[k] for k in ("rows", "matched", "unmatched")}
    # The unmatched are listed up to 1000 (the count goes on).
    assert len(out["unmatched_rows"]) == 1000 and out["unmatched_rows"][0]["line"] == 3, \
        out["unmatched_rows"][:2]
    assert db_counts(r) == (50000, 800000)
    peak = vm_hwm_kib(r.proc.pid)
    print("# 100k rows (%.1f MB) in %.1fs; VmHWM %d KiB before, %d KiB after"
          % (size / 1e6, secs, base, peak))
    # The body went to a file: what the server grew by is bounded by the
    # plugin's Lua heap (capped at 32 MiB), SQLite's page cache and ASan's
    # quarantine (16 MiB here), whatever the file's size.
    assert peak * 1024 < 96 * 1024 * 1024, (base, peak)
    assert (peak - base) * 1024 < 48 * 1024 * 1024 < size * 2, (base, peak)


if __name__ == "__main__":
    run(globals())
