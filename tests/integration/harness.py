"""Integration-test harness: starts the real `relais` on a temporary database
and a port of its own, talks HTTP to it, and reports results in TAP so that
meson (and scripts/test) count every case.

Ports are never picked then hoped for: the harness binds a listening socket
on port 0 itself, keeps it for the life of the Relais object (restarts
included) and hands it to `relais serve --listen-fd N`; servers a test runs
beside Relais (gateway_sim, SMTP) bind port 0 too. So two tests running at
once can never take each other's port.

Use:
    from harness import Relais, run
    def test_something(r):          # r is a started Relais with an admin token
        st, body, hdrs = r.req("GET", "/api/v1/venues")
        assert st == 200, body
    if __name__ == "__main__":
        run(globals())

Every test gets a fresh server and database unless it is listed in
SHARED (module-level list) — see run().
"""
import json
import os
import re
import signal
import socket
import subprocess
import sys
import tempfile
import time
import traceback
import http.client

BIN = os.environ.get("RELAIS_BIN", os.path.join(os.path.dirname(__file__), "..", "..", "build", "relais"))
SRC = os.environ.get("RELAIS_SRC", os.path.join(os.path.dirname(__file__), "..", ".."))


def listening_socket(host="127.0.0.1"):
    """A TCP socket bound to a port the kernel chose, already listening:
    (socket, port). Whoever holds it owns the port; nothing can race for it."""
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.bind((host, 0))
    s.listen(128)
    return s, s.getsockname()[1]


def serve_cmd(config, sock):
    """The command line and Popen keywords that start `relais serve` on SOCK."""
    return ([BIN, "serve", "-c", config, "--listen-fd", str(sock.fileno())],
            {"pass_fds": (sock.fileno(),)})


class Relais:
    """One server process on a temporary directory."""

    def __init__(self, extra_config="", timezone="Europe/Paris"):
        self.dir = tempfile.mkdtemp(prefix="relais-it-")
        self.sock, self.port = listening_socket()
        self.config = os.path.join(self.dir, "relais.conf.lua")
        with open(self.config, "w") as f:
            f.write('listen = "127.0.0.1:%d"\n' % self.port)
            f.write('database = "%s"\n' % os.path.join(self.dir, "relais.db"))
            f.write('timezone = "%s"\n' % timezone)
            f.write('public_url = "http://127.0.0.1:%d"\n' % self.port)
            f.write('plugins_dir = "%s"\n' % os.path.join(SRC, "plugins"))
            f.write('plugins = {}\n')
            f.write(extra_config)
        self.proc = None
        self.prefix = []      # a command that runs the server (e.g. sh with a ulimit)
        self.env = None        # the server's environment (None: this one's)
        self.log_path = os.path.join(self.dir, "stderr.log")
        self.tokens = {}

    # --- process -----------------------------------------------------------
    def cli(self, *args, check=True, input=None):
        """Runs `relais ARGS -c CONFIG`; returns (rc, stdout, stderr)."""
        p = subprocess.run([BIN] + list(args) + ["-c", self.config], capture_output=True,
                           text=True, cwd=self.dir, timeout=60, input=input)
        if check and p.returncode != 0:
            raise AssertionError("relais %s failed (%d): %s" % (args, p.returncode, p.stderr))
        return p.returncode, p.stdout, p.stderr

    def token(self, role="admin", name=None, staff=None):
        args = ["token", "add", "--role", role, "--name", name or ("test " + role)]
        if staff is not None:
            args += ["--staff", str(staff)]
        _, out, _ = self.cli(*args)
        tok = out.strip()
        assert "\n" not in tok and tok, "token add must print one line: %r" % out
        return tok

    def start(self):
        self.cli("migrate")
        self.tokens["admin"] = self.token("admin")
        self.tokens["coordinator"] = self.token("coordinator")
        self.log = open(self.log_path, "w")
        cmd, kw = serve_cmd(self.config, self.sock)
        self.proc = subprocess.Popen(self.prefix + cmd, stdout=self.log, stderr=self.log,
                                     cwd=self.dir, env=self.env, **kw)
        deadline = time.time() + 20
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise AssertionError("relais exited at start: " + self.read_log())
            # The socket listens before the server runs: a connection waits
            # in its backlog, so each try is short and the exit is checked.
            try:
                st, _, _ = self.req("GET", "/health", token=None, timeout=1)
                if st == 200:
                    return self
            except OSError:
                pass
            time.sleep(0.05)
        raise AssertionError("relais did not answer /health: " + self.read_log())

    def stop(self, sig=signal.SIGTERM):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
                raise AssertionError("relais did not stop on %s" % sig)
        rc = self.proc.returncode if self.proc else 0
        if self.proc:
            self.log.close()
        return rc

    def cleanup(self):
        """Removes the temporary directory (database, config, log)."""
        import shutil
        self.sock.close()
        shutil.rmtree(self.dir, ignore_errors=True)

    def read_log(self):
        try:
            with open(self.log_path) as f:
                return f.read()
        except OSError:
            return ""

    # --- HTTP --------------------------------------------------------------
    def req(self, method, path, body=None, token="admin", headers=None, raw=None, timeout=30):
        """Returns (status, parsed JSON or text, headers dict lower-cased)."""
        h = dict(headers or {})
        if token is not None:
            h["Authorization"] = "Bearer " + self.tokens.get(token, token)
        data = None
        if raw is not None:
            data = raw if isinstance(raw, bytes) else raw.encode()
        elif body is not None:
            data = json.dumps(body).encode()
            h.setdefault("Content-Type", "application/json")
        c = http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout)
        try:
            c.request(method, path, body=data, headers=h)
            resp = c.getresponse()
            payload = resp.read()
            hdrs = {k.lower(): v for k, v in resp.getheaders()}
        finally:
            c.close()
        ctype = hdrs.get("content-type", "")
        if "json" in ctype and payload:
            out = json.loads(payload.decode())
        else:
            out = payload.decode("utf-8", "replace")
        return resp.status, out, hdrs

    def req_raw(self, method, path, token="admin", headers=None, timeout=30):
        """Returns (status, the body's bytes, headers dict lower-cased)."""
        h = dict(headers or {})
        if token is not None:
            h["Authorization"] = "Bearer " + self.tokens.get(token, token)
        c = http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout)
        try:
            c.request(method, path, headers=h)
            resp = c.getresponse()
            payload = resp.read()
            hdrs = {k.lower(): v for k, v in resp.getheaders()}
        finally:
            c.close()
        return resp.status, payload, hdrs

    def ok(self, method, path, body=None, token="admin", expect=(200, 201, 204)):
        st, out, _ = self.req(method, path, body, token=token)
        if isinstance(expect, int):
            expect = (expect,)
        assert st in expect, "%s %s → %d %s" % (method, path, st, out)
        return out

    def db(self, sql, *args):
        """Reads the database directly (sqlite3 module) to check what is stored."""
        import sqlite3
        con = sqlite3.connect(os.path.join(self.dir, "relais.db"))
        try:
            return con.execute(sql, args).fetchall()
        finally:
            con.close()


def problem(r, status, out, hdrs=None, field=None):
    """Asserts a problem+json answer with STATUS (and FIELD among errors)."""
    assert isinstance(out, dict), "expected problem+json, got %r" % (out,)
    assert out.get("status") == status, out
    assert "title" in out and "type" in out, out
    if hdrs is not None:
        assert hdrs.get("content-type", "").startswith("application/problem+json"), hdrs
    if field is not None:
        fields = [e.get("field") for e in out.get("errors", [])]
        assert field in fields, "field %r not in %r" % (field, out)


def run(ns, fresh=True):
    """Runs every test_* function of NS in order, each with its own server,
    and prints TAP. Exit status 1 when any failed. A module-level
    EXTRA_CONFIG string in NS is added to every server's configuration."""
    tests = [(n, f) for n, f in ns.items() if n.startswith("test_") and callable(f)]
    tests.sort(key=lambda t: t[1].__code__.co_firstlineno)
    only = os.environ.get("ONLY")
    if only:
        tests = [t for t in tests if only in t[0]]
    print("TAP version 13")
    print("1..%d" % len(tests))
    failed = 0
    for i, (name, fn) in enumerate(tests, 1):
        r = Relais(extra_config=ns.get("EXTRA_CONFIG", ""))
        this_failed = False
        try:
            r.start()
            fn(r)
            print("ok %d - %s" % (i, name))
        except Exception:
            failed += 1
            this_failed = True
            print("not ok %d - %s" % (i, name))
            for line in traceback.format_exc().splitlines():
                print("# " + line)
            for line in r.read_log().splitlines()[-int(os.environ.get("LOG_LINES", "15")):]:
                print("#   log: " + line)
        finally:
            try:
                r.stop(signal.SIGKILL if this_failed else signal.SIGTERM)
            except Exception as e:  # a failed stop is a failure of its own
                print("# stop: %s" % e)
            if not this_failed:   # keep a failed case's files for a look
                r.cleanup()
            sys.stdout.flush()
    sys.exit(1 if failed else 0)
