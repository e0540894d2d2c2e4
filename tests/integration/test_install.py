"""`meson setup --prefix=P && meson install` gives a working system (api.md,
"Operations"): the source tree is built afresh in a build directory of its
own with a temporary prefix P and installed there, then the installed
binary runs from an empty directory with no -c. It reads
P/etc/relais/relais.conf.lua, whose paths are absolute (the database under
P/var/lib/relais, the plugins under P/share/relais/plugins), loads every
plugin, answers /health, and keeps its database where the configuration
says. The unit P/lib/systemd/system/relais.service starts that binary and
passes `systemd-analyze verify`. A second install keeps the administrator's
configuration.

What is not checked here: systemd itself running the unit (no systemd in
the test machine), which is why the unit is verified offline. The one
change made to the installed configuration is its listening port (port 0,
read back from the log), so that the test never races for a port."""
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import traceback

from standalone import Server

SRC = os.environ.get("RELAIS_SRC", os.path.join(os.path.dirname(__file__), "..", ".."))


class Install:
    def __init__(self):
        self.top = tempfile.mkdtemp(prefix="relais-install-")
        self.build = os.path.join(self.top, "build")
        self.prefix = os.path.join(self.top, "prefix")
        self.log = os.path.join(self.top, "meson.log")

    def meson(self, *args):
        with open(self.log, "a") as log:
            p = subprocess.run(["meson"] + list(args), stdout=log, stderr=subprocess.STDOUT,
                               stdin=subprocess.DEVNULL, timeout=900)
        if p.returncode != 0:
            with open(self.log) as f:
                raise AssertionError("meson %s failed:\n%s" % (args[0], f.read()[-3000:]))

    def setup(self):
        self.meson("setup", self.build, SRC, "--prefix=" + self.prefix, "-Dtests=false",
                   "-Dbuildtype=plain")
        self.meson("compile", "-C", self.build, "relais")
        self.meson("install", "-C", self.build)

    def path(self, *parts):
        return os.path.join(self.prefix, *parts)

    def config_text(self):
        with open(self.path("etc", "relais", "relais.conf.lua")) as f:
            return f.read()


def lua_value(text, key):
    """The last string assigned to KEY at the start of a line."""
    found = re.findall(r'^%s\s*=\s*"([^"]*)"' % key, text, re.M)
    assert found, "no %s in the installed configuration" % key
    return found[-1]


def test_installed_files(inst):
    for rel in ("bin/relais", "etc/relais/relais.conf.lua", "etc/relais/relais.conf.lua.default",
                "lib/systemd/system/relais.service", "lib/sysusers.d/relais.conf",
                "lib/tmpfiles.d/relais.conf", "share/relais/plugins/sms/plugin.lua",
                "share/relais/plugins/console/plugin.lua", "share/doc/relais/operations.md"):
        assert os.path.isfile(inst.path(rel)), "not installed: " + rel
    assert os.access(inst.path("bin/relais"), os.X_OK)
    text = inst.config_text()
    assert lua_value(text, "database") == inst.path("var", "lib", "relais", "relais.db"), text
    assert lua_value(text, "plugins_dir") == inst.path("share", "relais", "plugins")
    # Nothing relative is left: every path key is absolute.
    for key in ("database", "plugins_dir"):
        assert lua_value(text, key).startswith("/"), key
    with open(inst.path("lib/systemd/system/relais.service")) as f:
        unit = f.read()
    execs = re.findall(r"^ExecStart=(.*)$", unit, re.M)
    assert execs == ["%s serve -c %s" % (inst.path("bin", "relais"),
                                         inst.path("etc", "relais", "relais.conf.lua"))], execs
    statedir = inst.path("var", "lib", "relais")
    for line in ("User=relais", "ReadWritePaths=" + statedir, "WorkingDirectory=" + statedir,
                 "ProtectSystem=strict", "ProtectHome=yes", "PrivateTmp=yes",
                 "NoNewPrivileges=yes", "CapabilityBoundingSet=",
                 "RestrictAddressFamilies=AF_INET AF_INET6 AF_UNIX",
                 "SystemCallFilter=@system-service", "Restart=on-failure",
                 "ExecReload=/bin/kill -HUP $MAINPID"):
        assert re.search("^%s$" % re.escape(line), unit, re.M), "unit lacks " + line
    assert re.search(r"^LimitNOFILE=\d+$", unit, re.M), unit
    assert "@" not in re.sub(r"@system-service|@privileged|@resources", "", unit), \
        "a template variable was left in the unit"
    with open(inst.path("lib/sysusers.d/relais.conf")) as f:
        assert re.search(r'^u relais - "[^"]+" %s$' % re.escape(statedir), f.read(), re.M)
    with open(inst.path("lib/tmpfiles.d/relais.conf")) as f:
        assert re.search(r"^d %s 0700 relais relais -$" % re.escape(statedir), f.read(), re.M)
    # systemd reads it as a unit, and its ExecStart is the installed binary.
    p = subprocess.run(["systemd-analyze", "verify", inst.path("lib/systemd/system/relais.service")],
                       capture_output=True, text=True, timeout=60)
    assert p.returncode == 0 and not p.stderr.strip(), p.stderr


def test_runs_with_no_config_option(inst):
    conf = inst.path("etc", "relais", "relais.conf.lua")
    with open(conf, "a") as f:
        f.write('\nlisten = "127.0.0.1:0"   -- the test\'s one change: any free port\n')
    cwd = tempfile.mkdtemp(prefix="relais-cwd-", dir=inst.top)
    env = {"PATH": "/usr/bin:/bin", "LANG": "C.UTF-8"}
    relais = inst.path("bin", "relais")
    server = Server([relais, "serve"], cwd, os.path.join(inst.top, "serve.log"), env=env)
    try:
        server.wait_listening()
        log = server.read_log()
        assert "info main: configuration %s\n" % conf in log, log
        plugins = re.findall(r'"(\w+)"', re.search(r"^plugins\s*=\s*\{(.*)\}", inst.config_text(),
                                                  re.M).group(1))
        assert plugins and "sms" in plugins and "console" in plugins, plugins
        for name in plugins:
            assert re.search(r"info plugin %s: loaded" % name, log), "%s did not load:\n%s" % (
                name, log)
        assert not re.search(r"^\S+ (error|warn) ", log, re.M), log
        st, body, _ = server.get("/health")
        assert st == 200 and b'"ok"' in body, (st, body)
        st, body, _ = server.get("/console")
        assert st == 200 and b"<html" in body.lower(), (st, body[:200])
        db = inst.path("var", "lib", "relais", "relais.db")
        assert os.path.isfile(db) and os.path.isfile(db + ".secret"), os.listdir(
            os.path.dirname(db))
        assert os.stat(os.path.dirname(db)).st_mode & 0o077 == 0, "the database directory is private"
        # The command line finds the same configuration.
        p = subprocess.run([relais, "token", "add", "--role", "admin", "--name", "install test"],
                           cwd=cwd, env=env, capture_output=True, text=True, timeout=60)
        assert p.returncode == 0, p.stderr
        token = p.stdout.strip()
        st, body, _ = server.get("/api/v1/venues", {"Authorization": "Bearer " + token})
        assert st == 200, (st, body)
        p = subprocess.run([relais, "migrate"], cwd=cwd, env=env, capture_output=True,
                           text=True, timeout=60)
        assert p.returncode == 0 and "is up to date" in p.stderr, p.stderr
        backup = os.path.join(inst.top, "backup.db")
        p = subprocess.run([relais, "backup", backup], cwd=cwd, env=env, capture_output=True,
                           text=True, timeout=60)
        assert p.returncode == 0 and os.path.isfile(backup), p.stderr
        assert os.listdir(cwd) == [], "the installed binary wrote into its working " \
            "directory: %r" % os.listdir(cwd)
    finally:
        rc = server.stop(signal.SIGTERM)
    assert rc == 0, server.read_log()


def test_reinstall_keeps_the_configuration(inst):
    conf = inst.path("etc", "relais", "relais.conf.lua")
    with open(conf, "a") as f:
        f.write("-- the administrator's own line\n")
    os.unlink(conf + ".default")
    inst.meson("install", "-C", inst.build)
    with open(conf) as f:
        assert f.read().endswith("-- the administrator's own line\n")
    assert os.path.isfile(conf + ".default")
    # A fresh prefix gets the default copied in.
    os.unlink(conf)
    inst.meson("install", "-C", inst.build)
    with open(conf) as f, open(conf + ".default") as g:
        assert f.read() == g.read()


def main():
    tests = [(n, f) for n, f in globals().items() if n.startswith("test_") and callable(f)]
    tests.sort(key=lambda t: t[1].__code__.co_firstlineno)
    only = os.environ.get("ONLY")
    if only:
        tests = [t for t in tests if only in t[0]]
    print("TAP version 13")
    print("1..%d" % len(tests))
    inst = Install()
    failed = 0
    try:
        inst.setup()
        setup_error = None
    except Exception:
        setup_error = traceback.format_exc()
    for i, (name, fn) in enumerate(tests, 1):
        try:
            if setup_error:
                raise AssertionError("the installation failed:\n" + setup_error)
            fn(inst)
            print("ok %d - %s" % (i, name))
        except Exception:
            failed += 1
            print("not ok %d - %s" % (i, name))
            for line in traceback.format_exc().splitlines():
                print("# " + line)
        sys.stdout.flush()
    if not failed:
        shutil.rmtree(inst.top, ignore_errors=True)
    else:
        print("# kept for a look: " + inst.top)
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
