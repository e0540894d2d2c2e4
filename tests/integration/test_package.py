"""The Debian package (scripts/package, debian/): built with
`dpkg-buildpackage -us -uc -b`, then installed into a scratch root and run.

What this checks, and how, since systemd does not run on the test machine:
- the package's metadata, files and conffiles (dpkg-deb);
- its postinst, run for real with DPKG_ROOT set to the scratch root: its
  systemd-sysusers and systemd-tmpfiles calls make the relais user and its
  private /var/lib/relais inside that root (the real programs, writing only
  there). deb-systemd-helper and deb-systemd-invoke would change the host's
  own systemd state, so they are replaced on PATH by stand-ins that record
  their arguments: the test checks that the service is enabled (and started
  where systemd runs), not that systemd then starts it;
- the unit, verified offline by systemd-analyze with its paths put under
  the scratch root;
- the packaged binary, run as the relais user from the scratch root with
  the packaged configuration rewritten only by prefix (its absolute paths
  put under the root) and port 0: every plugin loads, /health answers, the
  database is made where the configuration says, tokens work.
The maintainer scripts and the setuid need root, as CI runs."""
import os
import re
import shutil
import signal
import stat
import subprocess
import sys
import tempfile
import traceback

from standalone import Server

SRC = os.environ.get("RELAIS_SRC", os.path.join(os.path.dirname(__file__), "..", ".."))
STANDIN = """#!/bin/sh
# Records the call instead of changing the host's systemd state.
echo "$(basename "$0") $*" >> "%s"
case "$1 $2" in
    "--quiet was-enabled") exit 0 ;;   # a new installation: enable it
esac
exit 0
"""


class Package:
    def __init__(self):
        self.top = tempfile.mkdtemp(prefix="relais-package-")
        os.chmod(self.top, 0o755)      # the relais user walks into the root
        self.out = os.path.join(self.top, "out")
        self.root = os.path.join(self.top, "root")
        self.deb = None

    def build(self):
        p = subprocess.run([os.path.join(SRC, "scripts", "package"), "--out", self.out],
                           capture_output=True, text=True, timeout=1500,
                           stdin=subprocess.DEVNULL)
        assert p.returncode == 0, "scripts/package failed:\n" + p.stderr[-4000:]
        self.deb = p.stdout.strip().splitlines()[-1]
        assert os.path.isfile(self.deb), p.stdout

    def dpkg_deb(self, *args):
        p = subprocess.run(["dpkg-deb"] + list(args), capture_output=True, text=True,
                           timeout=120)
        assert p.returncode == 0, p.stderr
        return p.stdout

    def field(self, name):
        return self.dpkg_deb("-f", self.deb, name).strip()

    def control_file(self, name):
        d = os.path.join(self.top, "control")
        if not os.path.isdir(d):
            self.dpkg_deb("-e", self.deb, d)
        path = os.path.join(d, name)
        if not os.path.exists(path):
            return None
        with open(path) as f:
            return f.read()

    def path(self, *parts):
        return os.path.join(self.root, *parts)


def meson_version():
    with open(os.path.join(SRC, "meson.build")) as f:
        return re.search(r"version\s*:\s*'([^']+)'", f.read()).group(1)


def test_metadata_and_files(pkg):
    assert os.path.basename(pkg.deb) == "relais_%s_%s.deb" % (
        meson_version(), pkg.field("Architecture")), pkg.deb
    assert pkg.field("Package") == "relais"
    assert pkg.field("Version") == meson_version(), "debian/changelog and meson.build disagree"
    depends = pkg.field("Depends")
    for dep in ("libevent-2.1", "liblua5.4", "libsqlite3", "libcurl4", "libsodium", "tzdata",
                "systemd-sysusers"):
        assert dep in depends, "Depends lacks %s: %s" % (dep, depends)
    files = set(re.findall(r" \./(\S+)$", pkg.dpkg_deb("-c", pkg.deb), re.M))
    for want in ("usr/bin/relais", "etc/relais/relais.conf.lua",
                 "lib/systemd/system/relais.service", "usr/lib/sysusers.d/relais.conf",
                 "usr/lib/tmpfiles.d/relais.conf", "usr/share/relais/plugins/sms/plugin.lua",
                 "usr/share/relais/plugins/console/plugin.lua",
                 "usr/share/doc/relais/operations.md", "usr/share/doc/relais/copyright"):
        assert want in files, "not in the package: " + want
    assert not any(f.endswith(".default") for f in files), "the .default config is not shipped"
    assert not any("var/lib" in f for f in files), "the database is made, not shipped"
    assert pkg.control_file("conffiles").split() == ["/etc/relais/relais.conf.lua"]


def test_maintainer_scripts(pkg):
    postinst = pkg.control_file("postinst")
    for name in ("postinst", "prerm", "postrm"):
        text = pkg.control_file(name)
        assert text, "no %s" % name
        p = subprocess.run(["sh", "-n"], input=text, capture_output=True, text=True)
        assert p.returncode == 0, (name, p.stderr)
    # Users before their directory, both before the service is enabled.
    order = [postinst.index(s) for s in ("systemd-sysusers", "systemd-tmpfiles",
                                         "deb-systemd-helper enable 'relais.service'",
                                         "deb-systemd-invoke $_dh_action 'relais.service'")]
    assert order == sorted(order), order
    assert "runuser -u relais -- relais token add --role admin" in postinst
    assert "deb-systemd-invoke stop 'relais.service'" in pkg.control_file("prerm")
    assert "purge" in pkg.control_file("postrm")


def test_postinst_makes_user_and_directory(pkg):
    assert os.geteuid() == 0, "this test runs the package's postinst in a scratch root " \
        "and needs root (CI runs as root)"
    pkg.dpkg_deb("-x", pkg.deb, pkg.root)
    os.chmod(pkg.root, 0o755)
    bindir = os.path.join(pkg.top, "standins")
    calls = os.path.join(pkg.top, "calls.log")
    os.mkdir(bindir)
    for tool in ("deb-systemd-helper", "deb-systemd-invoke"):
        with open(os.path.join(bindir, tool), "w") as f:
            f.write(STANDIN % calls)
        os.chmod(os.path.join(bindir, tool), 0o755)
    script = os.path.join(pkg.top, "control", "postinst")
    env = {"PATH": bindir + ":/usr/sbin:/usr/bin:/sbin:/bin", "DPKG_ROOT": pkg.root,
           "LANG": "C.UTF-8"}
    p = subprocess.run(["sh", script, "configure", ""], env=env, capture_output=True,
                       text=True, timeout=120)
    assert p.returncode == 0, p.stdout + p.stderr
    assert "runuser -u relais -- relais token add --role admin" in p.stdout, p.stdout
    with open(pkg.path("etc", "passwd")) as f:
        users = [line.split(":") for line in f.read().splitlines()]
    relais = [u for u in users if u[0] == "relais"]
    assert relais and relais[0][5] == "/var/lib/relais", users
    uid, gid = int(relais[0][2]), int(relais[0][3])
    st = os.stat(pkg.path("var", "lib", "relais"))
    assert (st.st_uid, st.st_gid, stat.S_IMODE(st.st_mode)) == (uid, gid, 0o700), st
    with open(calls) as f:
        log = f.read()
    assert "deb-systemd-helper enable relais.service" in log, log
    # Where systemd runs, the postinst starts the service too.
    if os.path.isdir("/run/systemd/system"):
        assert "deb-systemd-invoke start relais.service" in log, log
    pkg.uid, pkg.gid = uid, gid


def test_unit_verifies(pkg):
    with open(pkg.path("lib", "systemd", "system", "relais.service")) as f:
        unit = f.read()
    assert re.findall(r"^ExecStart=(.*)$", unit, re.M) == [
        "/usr/bin/relais serve -c /etc/relais/relais.conf.lua"]
    for line in ("User=relais", "StateDirectory=relais", "StateDirectoryMode=0700",
                 "WorkingDirectory=/var/lib/relais", "ProtectSystem=strict",
                 "NoNewPrivileges=yes", "PrivateTmp=yes", "CapabilityBoundingSet="):
        assert re.search("^%s$" % re.escape(line), unit, re.M), "unit lacks " + line
    # Verified with its binary where this test put it (the one change).
    moved = os.path.join(pkg.top, "relais.service")
    with open(moved, "w") as f:
        f.write(unit.replace("ExecStart=/usr/bin/relais",
                             "ExecStart=" + pkg.path("usr", "bin", "relais")))
    p = subprocess.run(["systemd-analyze", "verify", moved], capture_output=True, text=True,
                       timeout=60)
    assert p.returncode == 0 and not p.stderr.strip(), p.stderr


def test_packaged_binary_serves(pkg):
    assert hasattr(pkg, "uid"), "needs the user made by the postinst test"
    with open(pkg.path("etc", "relais", "relais.conf.lua")) as f:
        text = f.read()
    # The packaged paths, put under the scratch root: the only rewrite.
    assert '\ndatabase    = "/var/lib/relais/relais.db"\n' in text, text[:2000]
    assert '\nplugins_dir = "/usr/share/relais/plugins"\n' in text
    text = text.replace('"/var/lib/relais/', '"%s/' % pkg.path("var", "lib", "relais"))
    text = text.replace('"/usr/share/relais/', '"%s/' % pkg.path("usr", "share", "relais"))
    conf = pkg.path("etc", "relais", "under-root.conf.lua")
    with open(conf, "w") as f:
        f.write(text + '\nlisten = "127.0.0.1:0"\n')
    os.chmod(conf, 0o644)
    relais = pkg.path("usr", "bin", "relais")
    p = subprocess.run([relais, "--help"], capture_output=True, text=True, timeout=30)
    assert "/etc/relais/relais.conf.lua" in p.stdout, "the packaged default config: " + p.stdout

    def as_relais():
        os.setgroups([])
        os.setgid(pkg.gid)
        os.setuid(pkg.uid)

    env = {"PATH": "/usr/bin:/bin", "LANG": "C.UTF-8"}
    cwd = pkg.path("var", "lib", "relais")
    log = os.path.join(pkg.top, "serve.log")
    server = Server([relais, "serve", "-c", conf], cwd, log, env=env, preexec=as_relais)
    try:
        server.wait_listening()
        out = server.read_log()
        plugins = re.findall(r'"(\w+)"', re.search(r"^plugins\s*=\s*\{(.*)\}", text,
                                                  re.M).group(1))
        for name in plugins:
            assert re.search(r"info plugin %s: loaded" % name, out), "%s:\n%s" % (name, out)
        assert not re.search(r"^\S+ (error|warn) ", out, re.M), out
        assert server.get("/health")[0] == 200
        assert server.get("/console")[0] == 200
        db = pkg.path("var", "lib", "relais", "relais.db")
        st = os.stat(db)
        assert (st.st_uid, stat.S_IMODE(st.st_mode)) == (pkg.uid, 0o600), st
        p = subprocess.run([relais, "token", "add", "--role", "admin", "--name", "package test",
                            "-c", conf], cwd=cwd, env=env, capture_output=True, text=True,
                           timeout=60, preexec_fn=as_relais)
        assert p.returncode == 0, p.stderr
        st, body, _ = server.get("/api/v1/venues",
                                 {"Authorization": "Bearer " + p.stdout.strip()})
        assert st == 200, (st, body)
    finally:
        rc = server.stop(signal.SIGTERM)
    assert rc == 0, server.read_log()


def main():
    tests = [(n, f) for n, f in globals().items() if n.startswith("test_") and callable(f)]
    tests.sort(key=lambda t: t[1].__code__.co_firstlineno)
    print("TAP version 13")
    print("1..%d" % len(tests))
    pkg = Package()
    try:
        pkg.build()
        build_error = None
    except Exception:
        build_error = traceback.format_exc()
    failed = 0
    for i, (name, fn) in enumerate(tests, 1):
        try:
            if build_error:
                raise AssertionError("the package did not build:\n" + build_error)
            fn(pkg)
            print("ok %d - %s" % (i, name))
        except Exception:
            failed += 1
            print("not ok %d - %s" % (i, name))
            for line in traceback.format_exc().splitlines():
                print("# " + line)
        sys.stdout.flush()
    if not failed:
        shutil.rmtree(pkg.top, ignore_errors=True)
    else:
        print("# kept for a look: " + pkg.top)
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
