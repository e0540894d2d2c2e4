"""The console plugin's files (relais.static): served under /console with
their type, ETag/If-None-Match, revalidation and security headers; paths
that try to leave the folder name nothing; "/" sends to the console;
GET /api/v1/me says who a token is. And relais.static's own rules, on a
plugin made for the test: names, links out of the folder, a reload
re-reading the files."""
import os
import shutil
import signal
import tempfile
import time
import http.client

from harness import Relais, run, problem, SRC

EXTRA_CONFIG = 'plugins = {"console"}\n'
STATIC = os.path.join(SRC, "plugins", "console", "static")


def raw(r, method, path, headers=None):
    """(status, body bytes, headers) without any client-side path cleaning."""
    c = http.client.HTTPConnection("127.0.0.1", r.port, timeout=30)
    try:
        c.putrequest(method, path, skip_accept_encoding=True)
        for k, v in (headers or {}).items():
            c.putheader(k, v)
        c.endheaders()
        resp = c.getresponse()
        body = resp.read()
        return resp.status, body, {k.lower(): v for k, v in resp.getheaders()}
    finally:
        c.close()


def test_index_and_assets_with_types_and_headers(r):
    with open(os.path.join(STATIC, "index.html"), "rb") as f:
        index = f.read()
    st, body, h = raw(r, "GET", "/console")
    assert st == 200 and body == index, st
    assert h["content-type"] == "text/html; charset=utf-8", h
    csp = h["content-security-policy"]
    assert "default-src 'self'" in csp and "script-src 'self'" in csp, csp
    assert "unsafe-inline" not in csp and "frame-ancestors 'none'" in csp, csp
    assert h["x-content-type-options"] == "nosniff", h
    assert h["referrer-policy"] == "no-referrer", h
    assert h["x-frame-options"] == "DENY", h
    assert h["cache-control"] == "no-cache", h
    etag = h["etag"]
    assert etag.startswith('"') and etag.endswith('"') and len(etag) == 34, etag
    st, body2, h2 = raw(r, "GET", "/console/index.html")
    assert st == 200 and body2 == index and h2["etag"] == etag, (st, h2)
    for path, ctype in (("/console/js/app.js", "text/javascript; charset=utf-8"),
                        ("/console/js/views/session.js", "text/javascript; charset=utf-8"),
                        ("/console/css/app.css", "text/css; charset=utf-8")):
        st, body, h = raw(r, "GET", path)
        assert st == 200 and h["content-type"] == ctype, (path, st, h)
        with open(os.path.join(STATIC, path[len("/console/"):]), "rb") as f:
            assert body == f.read(), path
    # No inline script or style anywhere: the strict policy never blocks the console.
    for dirpath, _, files in os.walk(STATIC):
        for name in files:
            if name.endswith(".html"):
                with open(os.path.join(dirpath, name), encoding="utf-8") as f:
                    text = f.read()
                assert "<script>" not in text and "style=" not in text and "<style" not in text, name


def test_head_and_revalidation(r):
    st, body, h = raw(r, "GET", "/console/js/app.js")
    etag, size = h["etag"], len(body)
    st, body, h = raw(r, "HEAD", "/console/js/app.js")
    assert st == 200 and body == b"" and int(h["content-length"]) == size, (st, h)
    for inm in (etag, "W/" + etag, '"nope", ' + etag, "*"):
        st, body, h = raw(r, "GET", "/console/js/app.js", {"If-None-Match": inm})
        assert st == 304 and body == b"", (inm, st)
        assert h["etag"] == etag and h["cache-control"] == "no-cache", h
    st, body, h = raw(r, "GET", "/console/js/app.js", {"If-None-Match": '"other"'})
    assert st == 200 and len(body) == size, st
    # Another file's tag does not match this one.
    _, _, hc = raw(r, "GET", "/console/css/app.css")
    st, _, _ = raw(r, "GET", "/console/js/app.js", {"If-None-Match": hc["etag"]})
    assert st == 200, st


def test_paths_out_of_the_folder_name_nothing(r):
    with open(os.path.join(SRC, "plugins", "console", "plugin.lua"), "rb") as f:
        secret = f.read()
    for path in ("/console/../console/plugin.lua", "/console/..%2Fplugin.lua",
                 "/console/%2e%2e/plugin.lua", "/console/js/..%2F..%2Fplugin.lua",
                 "/console/plugin.lua", "/console/static/index.html",
                 "/console/js%2Fapp.js", "/console/js/app.js%00", "/console/js/app.js%00.css",
                 "/console//js/app.js", "/console/js/", "/console/js",
                 "/console/%2Fetc%2Fpasswd", "/console/..", "/console/.%2e/plugin.lua",
                 "/console/JS/APP.JS", "/console/js/app.js%2F", "/console/..%2F/"):
        st, body, h = raw(r, "GET", path)
        assert st in (400, 404), (path, st)
        assert secret not in body and b"import" not in body, path
    st, body, h = raw(r, "POST", "/console/js/app.js")
    assert st == 405 and "GET" in h.get("allow", ""), (st, h)


def test_root_redirects_to_the_console(r):
    st, _, h = raw(r, "GET", "/")
    assert st == 302 and h["location"] == "/console", (st, h)


def test_a_trailing_slash_leads_to_the_page(r):
    """People type "/console/": a page path with trailing slashes is sent to
    the path without them when that one exists; anything else stays 404, and
    API paths keep their strict 404 (a client bug should show)."""
    for path, loc in (("/console/", "/console"), ("/console///", "/console"),
                      ("/console/js/app.js/", "/console/js/app.js"),
                      ("/console/?a=1&b=%C3%A9", "/console?a=1&b=%C3%A9")):
        st, body, h = raw(r, "GET", path)
        assert st == 308 and h["location"] == loc, (path, st, h)
        st, body, h = raw(r, "HEAD", path)
        assert st == 308 and h["location"] == loc and body == b"", (path, st, h)
    for path in ("/console/nothing/", "/health/x/", "/r/"):
        st, _, h = raw(r, "GET", path)
        assert st == 404 and "location" not in h, (path, st, h)
    st, _, h = raw(r, "GET", "/api/v1/venues/", {"Authorization": "Bearer " + r.token()})
    assert st == 404 and "location" not in h, (st, h)
    st, _, h = raw(r, "POST", "/console/")
    assert st == 404 and "location" not in h, (st, h)


def test_me_says_who_a_token_is(r):
    assert r.ok("GET", "/api/v1/me") == {"role": "admin", "staff_id": None, "staff_name": None}
    staff = r.ok("POST", "/api/v1/staff", {"name": "Samir Haddad", "role": "trainer"})
    tok = r.token("trainer", staff=staff["id"])
    st, me, h = r.req("GET", "/api/v1/me", token=tok)
    assert st == 200 and me == {"role": "trainer", "staff_id": staff["id"],
                                "staff_name": "Samir Haddad"}, me
    assert h["cache-control"] == "no-store", h
    assert r.ok("GET", "/api/v1/me", token="coordinator")["role"] == "coordinator"
    st, out, h = r.req("GET", "/api/v1/me", token=None)
    problem(r, 401, out, h)


# --- relais.static on a plugin made for the test -------------------------------

def make_plugin(root, lua, files):
    d = os.path.join(root, "web")
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, "plugin.lua"), "w") as f:
        f.write(lua)
    for rel, data in files.items():
        p = os.path.join(d, rel)
        os.makedirs(os.path.dirname(p), exist_ok=True)
        with open(p, "wb") as f:
            f.write(data)
    return d


def own_server(root, extra=""):
    s = Relais(extra_config='plugins_dir = "%s"\nplugins = {"web"}\n%s' % (root, extra))
    s.start()
    return s


def finish(s, root):
    """Stops S: a clean exit, no sanitizer report (the refused paths free
    everything they read)."""
    try:
        rc = s.stop()
        log = s.read_log()
        assert rc == 0 and "Sanitizer" not in log, "exit %s: %s" % (rc, log[-3000:])
    finally:
        s.cleanup()
        shutil.rmtree(root, ignore_errors=True)


def reload(s, expect_in_log, count=1):
    s.proc.send_signal(signal.SIGHUP)
    deadline = time.time() + 10
    while time.time() < deadline:
        if s.read_log().count(expect_in_log) >= count:
            return
        time.sleep(0.05)
    raise AssertionError("no %r after SIGHUP: %s" % (expect_in_log, s.read_log()[-2000:]))


def test_static_serves_a_folder_and_a_reload_rereads_it(r):
    root = tempfile.mkdtemp(prefix="relais-static-")
    d = make_plugin(root, 'relais.static("/web/app", "files", {headers = '
                    '{["X-Test"] = "yes"}})\n',
                    {"files/index.html": b"<p>v1</p>", "files/a/b/c.svg": b"<svg/>",
                     "files/data.bin": b"\x00\x01", "files/.hidden": b"no"})
    s = own_server(root)
    try:
        st, body, h = raw(s, "GET", "/web/app")
        assert st == 200 and body == b"<p>v1</p>" and h["x-test"] == "yes", (st, h)
        st, body, h = raw(s, "GET", "/web/app/a/b/c.svg")
        assert st == 200 and h["content-type"] == "image/svg+xml" and body == b"<svg/>", h
        st, body, h = raw(s, "GET", "/web/app/data.bin")
        assert st == 200 and h["content-type"] == "application/octet-stream", h
        assert body == b"\x00\x01"
        st, _, _ = raw(s, "GET", "/web/app/.hidden")
        assert st == 404, st
        old = h["etag"]
        # A change on disk is not seen until a reload: requests never read the disk.
        with open(os.path.join(d, "files", "data.bin"), "wb") as f:
            f.write(b"v2")
        st, body, h = raw(s, "GET", "/web/app/data.bin")
        assert body == b"\x00\x01" and h["etag"] == old
        os.remove(os.path.join(d, "files", "a", "b", "c.svg"))
        reload(s, "plugin web: loaded", 2)
        st, body, h = raw(s, "GET", "/web/app/data.bin")
        assert st == 200 and body == b"v2" and h["etag"] != old, (st, body)
        st, _, _ = raw(s, "GET", "/web/app/a/b/c.svg")
        assert st == 404, "a file removed before the reload is gone"
    except BaseException:
        s.stop(signal.SIGKILL)
        raise
    finish(s, root)


def refused(lua, files, reason, setup=None):
    root = tempfile.mkdtemp(prefix="relais-static-")
    d = make_plugin(root, lua, files)
    if setup:
        setup(d, root)
    s = own_server(root)
    try:
        log = s.read_log()
        assert "plugin web" in log and reason in log, log[-1500:]
        assert "plugin web: loaded" not in log, log[-1500:]
        st, _, _ = raw(s, "GET", "/web/x.txt")
        assert st == 404, st
        assert s.req("GET", "/health", token=None)[0] == 200
    except BaseException:
        s.stop(signal.SIGKILL)
        raise
    finish(s, root)


def test_static_refuses_links_out_of_the_folder(r):
    outside = tempfile.mkdtemp(prefix="relais-outside-")
    with open(os.path.join(outside, "secret.txt"), "w") as f:
        f.write("secret")

    def link_out(d, root):
        os.symlink(os.path.join(outside, "secret.txt"), os.path.join(d, "files", "x.txt"))
    try:
        refused('relais.static("/web", "files")\n', {"files/ok.txt": b"ok"},
                "leads outside the folder", link_out)

        def link_dir_out(d, root):
            os.symlink(outside, os.path.join(d, "files", "sub"))
        refused('relais.static("/web", "files")\n', {"files/ok.txt": b"ok"},
                "leads outside the folder", link_dir_out)
    finally:
        shutil.rmtree(outside, ignore_errors=True)
    # A link that stays inside is served.
    root = tempfile.mkdtemp(prefix="relais-static-")
    d = make_plugin(root, 'relais.static("/web", "files")\n', {"files/ok.txt": b"ok"})
    os.symlink("ok.txt", os.path.join(d, "files", "alias.txt"))
    s = own_server(root)
    try:
        st, body, _ = raw(s, "GET", "/web/alias.txt")
        assert st == 200 and body == b"ok", st
    except BaseException:
        s.stop(signal.SIGKILL)
        raise
    finish(s, root)


def test_static_argument_rules(r):
    files = {"files/x.txt": b"x"}
    refused('relais.static("/web", "../web")\n', files, '(no "..")')
    refused('relais.static("/web", "/etc")\n', files, "relative name")
    refused('relais.static("/api/v1/web", "files")\n', files, "may not be under /api/")
    refused('relais.static("web", "files")\n', files, "a path such as")
    refused('relais.static("/web/", "files")\n', files, "no trailing")
    refused('relais.static("/w{x}", "files")\n', files, "prefix segment")
    refused('relais.static("/web", "files/")\n', files, "folder segment")
    refused('relais.static("/web", "")\n', files, "folder segment")
    refused('relais.static("/web", "missing")\n', files, "No such file")
    refused('relais.static("/web", "files")\n', {"files/x.txt": b"x", "files/a b.txt": b"y"},
            "a served name is")
    refused('relais.static("/web", "files", {headers = {["X-A"] = "a\\r\\nB: b"}})\n', files,
            "malformed")
    # Two plugins (or two calls) cannot serve the same path.
    refused('relais.static("/web", "files")\nrelais.static("/web", "files")\n', files,
            "another route answers it")
    # Only while loading: a route calling it fails (500), the server goes on.
    root = tempfile.mkdtemp(prefix="relais-static-")
    make_plugin(root, 'relais.route("GET", "/late", function() relais.static("/x", "files") '
                'return {body = "no"} end)\n', files)
    s = own_server(root)
    try:
        st, _, _ = raw(s, "GET", "/late")
        assert st == 500, st
        assert "may only be called while the plugin loads" in s.read_log()
    except BaseException:
        s.stop(signal.SIGKILL)
        raise
    finish(s, root)


if __name__ == "__main__":
    run(globals())
