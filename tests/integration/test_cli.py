"""The command line of the contract: --version, --help, usage errors, token
add, migrate, configuration errors, env "NAME", and a database newer than the
code."""
import hashlib
import http.client
import os
import re
import subprocess
import time

from harness import BIN, run

TOKEN_RE = re.compile(r"^rls_[A-Za-z0-9_-]{43}$")


def bare(*args, cwd=None, env=None, timeout=30):
    """Runs the binary with exactly ARGS (no -c added): (rc, out, err)."""
    p = subprocess.run([BIN] + list(args), capture_output=True, text=True,
                       cwd=cwd, env=env, timeout=timeout)
    return p.returncode, p.stdout, p.stderr


def write_config(r, name, text):
    """A config file in R's directory: a database of its own, port 0 (a
    server that should not start, yet did, takes a port nobody wants), no
    plugins, then TEXT."""
    path = os.path.join(r.dir, name)
    with open(path, "w") as f:
        f.write('listen = "127.0.0.1:0"\n')
        f.write('database = "%s"\n' % os.path.join(r.dir, name + ".db"))
        f.write('plugins = {}\n')
        f.write(text)
    return path


def health(port):
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
    try:
        c.request("GET", "/health")
        resp = c.getresponse()
        resp.read()
        return resp.status
    finally:
        c.close()


def serve_must_fail(r, config, env=None):
    """Starts `relais serve` with CONFIG, which must exit (not serve) with a
    failure status: returns (rc, stderr)."""
    try:
        p = subprocess.run([BIN, "serve", "-c", config], capture_output=True, text=True,
                           cwd=r.dir, env=env, timeout=20)
    except subprocess.TimeoutExpired:
        raise AssertionError("relais serve kept running with %s" % config)
    assert p.returncode > 0, "serve should fail with a status, got %d: %s" % (
        p.returncode, p.stderr)
    assert p.stdout == "", p.stdout
    return p.returncode, p.stderr


def test_version(r):
    rc, out, err = bare("--version")
    assert rc == 0, err
    assert re.search(r"\b\d+\.\d+\.\d+\b", out), out
    assert "relais" in out.lower(), out
    assert len(out.strip().splitlines()) == 1, out


def test_help(r):
    rc, out, err = bare("--help")
    assert rc == 0, err
    for word in ("serve", "token add", "migrate", "--role", "--name", "--staff", "-c"):
        assert word in out, "--help does not mention %r:\n%s" % (word, out)


def test_usage_errors_exit_2(r):
    cases = [
        [],                                         # no command
        ["frobnicate"],                             # unknown command
        ["--no-such-option"],
        ["serve", "--no-such-option"],
        ["serve", "extra-argument"],
        ["serve", "-c"],                            # option without its value
        ["token"],                                  # token without sub-command
        ["token", "remove"],
        ["token", "add", "--name", "x"],            # --role missing
        ["token", "add", "--role", "admin"],        # --name missing
        ["token", "add", "--role"],
        ["migrate", "now"],
    ]
    for args in cases:
        rc, out, err = bare(*args, cwd=r.dir)
        assert rc == 2, "relais %s: exit %d (want 2), stderr %r" % (args, rc, err)
        assert err.strip(), "relais %s: a usage error must say why on stderr" % (args,)
        assert not TOKEN_RE.match(out.strip()), "relais %s printed a token" % (args,)
    # Nothing was created by any of them.
    assert r.db("SELECT count(*) FROM api_tokens")[0][0] == 2


def test_token_add_prints_one_line_stores_hash(r):
    rc, out, err = r.cli("token", "add", "--role", "coordinator", "--name", "Accueil CCAS")
    assert rc == 0, err
    assert out.endswith("\n") and out.count("\n") == 1, "exactly one line: %r" % out
    tok = out.strip()
    assert TOKEN_RE.match(tok), tok
    assert tok not in err
    rows = r.db("SELECT role, hash FROM api_tokens WHERE name = ?", "Accueil CCAS")
    assert len(rows) == 1, rows
    assert rows[0][0] == "coordinator"
    assert bytes(rows[0][1]) == hashlib.sha256(tok.encode()).digest(), "hash is SHA-256"
    # The plain token is nowhere on disk: not in the database, its WAL or shm.
    files = [f for f in os.listdir(r.dir) if f.startswith("relais.db")]
    assert "relais.db" in files, files
    secret = tok.encode()
    for name in files:
        with open(os.path.join(r.dir, name), "rb") as f:
            data = f.read()
        assert secret not in data, "plain token found in " + name
        assert tok[4:].encode() not in data, "token body found in " + name
    # And it works.
    st, body, _ = r.req("GET", "/api/v1/venues", token=tok)
    assert st == 200, body
    # Two tokens are never the same.
    assert r.token("coordinator", name="Accueil CCAS") != tok


def test_token_add_staff(r):
    s = r.ok("POST", "/api/v1/staff", {"name": "Élodie Perrin", "role": "trainer"})
    before = r.db("SELECT count(*) FROM api_tokens")[0][0]
    # A staff id that does not exist: refused, nothing printed, nothing stored.
    rc, out, err = r.cli("token", "add", "--role", "trainer", "--name", "t",
                         "--staff", str(s["id"] + 100), check=False)
    assert rc != 0 and out == "", (rc, out)
    assert err.strip(), "must say why"
    for bad in ("abc", "-3", "1.5", "99999999999999999999999", ""):
        rc, out, err = r.cli("token", "add", "--role", "trainer", "--name", "t",
                             "--staff", bad, check=False)
        assert rc != 0 and out == "", (bad, rc, out)
    assert r.db("SELECT count(*) FROM api_tokens")[0][0] == before
    # An existing one: bound.
    tok = r.token("trainer", name="bound", staff=s["id"])
    assert TOKEN_RE.match(tok)
    rows = r.db("SELECT role, staff_id FROM api_tokens WHERE name = 'bound'")
    assert rows == [("trainer", s["id"])], rows


def test_token_add_unknown_role(r):
    before = r.db("SELECT count(*) FROM api_tokens")[0][0]
    for role in ("root", "", "trainer ", "beneficiary"):
        rc, out, err = r.cli("token", "add", "--role", role, "--name", "x", check=False)
        assert rc != 0, role
        assert out == "", "nothing on stdout for role %r: %r" % (role, out)
        assert err.strip(), role
    assert r.db("SELECT count(*) FROM api_tokens")[0][0] == before


def test_migrate_twice(r):
    v = r.ok("POST", "/api/v1/venues", {"name": "Centre social du Biollay"})
    rc, out, err = r.cli("migrate")
    assert rc == 0, err
    rc, out, err = r.cli("migrate")
    assert rc == 0, err
    got = r.ok("GET", "/api/v1/venues/%d" % v["id"])
    assert got["name"] == "Centre social du Biollay"
    # A fresh directory: migrate creates the database (and its directory).
    cfg = os.path.join(r.dir, "fresh.lua")
    dbpath = os.path.join(r.dir, "sub", "dir", "new.db")
    with open(cfg, "w") as f:
        f.write('database = "%s"\nplugins = {}\n' % dbpath)
    rc, out, err = bare("migrate", "-c", cfg, cwd=r.dir)
    assert rc == 0, err
    assert os.path.exists(dbpath)
    rc, out, err = bare("migrate", "-c", cfg, cwd=r.dir)
    assert rc == 0, err


def test_config_unknown_key(r):
    cfg = write_config(r, "typo.lua", 'lisen = "x"\n')
    rc, err = serve_must_fail(r, cfg)
    assert "lisen" in err, err
    rc2, _, err2 = bare("migrate", "-c", cfg, cwd=r.dir)
    assert rc2 > 0 and "lisen" in err2, (rc2, err2)


def test_config_wrong_type(r):
    cfg = write_config(r, "type.lua", 'listen = 5\n')
    rc, err = serve_must_fail(r, cfg)
    assert "listen" in err, err
    cfg = write_config(r, "type2.lua", 'quiet_hours = "la nuit"\n')
    rc, err = serve_must_fail(r, cfg)
    assert "quiet_hours" in err, err


def test_config_bad_duration(r):
    cfg = write_config(r, "dur.lua", 'reminders = {before = {"2x"}}\n')
    rc, err = serve_must_fail(r, cfg)
    assert "reminders" in err, err
    cfg = write_config(r, "dur2.lua", 'survey = {after = "soon"}\n')
    rc, err = serve_must_fail(r, cfg)
    assert "survey" in err, err


def test_config_syntax_error_and_missing_file(r):
    cfg = write_config(r, "syntax.lua", 'listen = = "x"\n')
    rc, err = serve_must_fail(r, cfg)
    assert "syntax.lua" in err, "name the file: " + err
    rc, err = serve_must_fail(r, os.path.join(r.dir, "no-such-file.lua"))
    assert "no-such-file.lua" in err, err


def test_config_sandbox(r):
    # The file cannot reach the system: no io, os.execute, require, dofile.
    for code in ('io.open("/etc/passwd")', 'os.execute("true")', 'require("os")',
                 'dofile("/etc/passwd")', 'assert(load(string.dump(function() end)))'):
        cfg = write_config(r, "sandbox.lua", code + "\n")
        serve_must_fail(r, cfg)


def test_config_env(r):
    dbpath = os.path.join(r.dir, "from-env.db")
    cfg = os.path.join(r.dir, "env.lua")
    with open(cfg, "w") as f:
        f.write('database = env "RELAIS_TEST_DB"\n')
        f.write('listen = env "RELAIS_TEST_LISTEN"\n')
        f.write('plugins = {}\n')
    # Port 0: the kernel picks one, and the log's "listening on" line names it.
    env = dict(os.environ, RELAIS_TEST_DB=dbpath, RELAIS_TEST_LISTEN="127.0.0.1:0")
    rc, out, err = bare("migrate", "-c", cfg, cwd=r.dir, env=env)
    assert rc == 0, err
    assert os.path.exists(dbpath), "database path read from the environment"
    # And serve listens where the environment says.
    log_path = os.path.join(r.dir, "env-serve.log")
    with open(log_path, "w") as log:
        proc = subprocess.Popen([BIN, "serve", "-c", cfg], stdout=log, stderr=log,
                                cwd=r.dir, env=env)
    up = False
    try:
        deadline = time.time() + 20
        port = None
        while time.time() < deadline and proc.poll() is None and not up:
            if port is None:
                with open(log_path) as f:
                    m = re.search(r"listening on 127\.0\.0\.1:(\d+) ", f.read())
                port = m and int(m.group(1))
                if not port:
                    time.sleep(0.05)
                    continue
            try:
                up = health(port) == 200
            except OSError:
                time.sleep(0.05)
    finally:
        if proc.poll() is None:
            proc.terminate()
        try:
            rc = proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            rc = proc.wait()
    with open(log_path) as f:
        log_text = f.read()
    assert up, "no /health on the port read from the environment: " + log_text
    assert rc == 0, log_text


def test_newer_schema_refused(r):
    assert r.stop() == 0
    cols = [c[1] for c in r.db("PRAGMA table_info(schema_migrations)")]
    comp = next((c for c in ("component", "name", "module") if c in cols), None)
    assert comp and "version" in cols, "schema_migrations columns: %r" % cols
    n = r.db("SELECT count(*) FROM schema_migrations WHERE %s = 'core'" % comp)[0][0]
    assert n >= 1, "core migrations are recorded"
    import sqlite3
    con = sqlite3.connect(os.path.join(r.dir, "relais.db"))
    with con:
        con.execute("UPDATE schema_migrations SET version = 999 WHERE %s = 'core' AND "
                    "version = (SELECT max(version) FROM schema_migrations WHERE %s = 'core')"
                    % (comp, comp))
    con.close()
    rc, err = serve_must_fail(r, r.config)
    assert re.search(r"newer|version|upgrade", err, re.I), err
    rc, out, err = r.cli("migrate", check=False)
    assert rc > 0, "migrate must refuse to downgrade"
    # The database was not touched by the refusals.
    assert r.db("SELECT max(version) FROM schema_migrations WHERE %s = 'core'"
                % comp)[0][0] == 999


if __name__ == "__main__":
    run(globals())
