"""Every answer under /r/ and /s/ is a French HTML page (issue 15; api.md
"Beneficiary pages"), whoever gives it: the router (404 of an unknown path,
405 with its Allow header), the rate limit (429 with Retry-After), a body
too large (413), a malformed path (400), the surveys plugin's own pages —
never the API's English problem+json."""
import os
import re
import sys

sys.path.insert(0, os.path.dirname(__file__))
from harness import run  # noqa: E402

# A small page budget so that the limit is reached quickly; the surveys
# plugin serves /s/.
EXTRA_CONFIG = ('plugins = {"surveys"}\n'
                'limits = {pages_burst = 12, pages_per_minute = 1}\n'
                'body_limit = 2048\n')
CSP = "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'"


def french_page(st, body, hdrs, status):
    assert st == status, (st, body)
    assert hdrs.get("content-type") == "text/html; charset=utf-8", hdrs
    assert hdrs.get("cache-control") == "no-store" and hdrs.get("content-security-policy") == CSP
    assert body.startswith('<!doctype html><html lang="fr">'), body
    assert "problem" not in body and '"status"' not in body, body
    h1 = re.search(r"<h1>(.*?)</h1>", body).group(1)
    # French words only: none of the HTTP titles.
    for english in ("Not Found", "Method Not Allowed", "Too Many", "Bad Request",
                    "Content Too Large", "Internal"):
        assert english not in body, (english, body)
    return h1


def test_every_status_is_a_french_page(r):
    token = "A" * 22
    cases = [
        ("GET", "/r/" + token, None, 404, "Lien introuvable"),
        ("GET", "/r/a/b/c", None, 404, "Lien introuvable"),
        ("GET", "/s/" + token, None, 404, "Lien introuvable"),
        ("PUT", "/r/" + token, None, 405, "Demande non comprise"),
        ("DELETE", "/s/" + token, None, 405, "Demande non comprise"),
        ("GET", "/r/%s/cancel" % token, None, 405, "Demande non comprise"),
        ("GET", "/r/%00", None, 400, "Demande non comprise"),
        ("POST", "/r/%s/cancel" % token, b"x" * 4096, 413, "Demande trop longue"),
    ]
    for method, path, raw, status, title in cases:
        headers = {"Content-Type": "application/x-www-form-urlencoded"} if raw else None
        st, body, hdrs = r.req(method, path, token=None, raw=raw, headers=headers)
        h1 = french_page(st, body if isinstance(body, str) else str(body), hdrs, status)
        assert h1 == title, (method, path, h1)
        if status == 405:
            assert hdrs.get("allow"), hdrs
    # The API keeps its problem documents.
    st, out, hdrs = r.req("GET", "/api/v1/nothing")
    assert st == 404 and hdrs["content-type"].startswith("application/problem+json"), hdrs


def test_rate_limited_pages_are_french(r):
    token = "B" * 22
    seen = []
    for _ in range(20):
        st, body, hdrs = r.req("GET", "/s/" + token, token=None)
        seen.append(st)
        if st == 429:
            break
    assert seen[-1] == 429, seen
    assert french_page(st, body, hdrs, 429) == "Trop de demandes"
    assert "Attendez une minute" in body, body
    assert int(hdrs["retry-after"]) >= 1, hdrs
    st, body, hdrs = r.req("POST", "/r/%s/cancel" % token, token=None)
    assert french_page(st, body, hdrs, 429) == "Trop de demandes"


if __name__ == "__main__":
    run(globals())
