"""relais backup FILE: a consistent copy of the live database, taken while a
client writes as fast as it can. The copy passes PRAGMA integrity_check,
holds every row committed before the backup started, opens without a -wal
beside it, comes with the link secret, and restores as the documented
procedure says (docs/operations.md). Refusals leave FILE as it was."""
import os
import shutil
import sqlite3
import subprocess
import threading
import time

from harness import BIN, run

SEED_ROWS = 20000          # about 5 MiB: the copy takes several steps


def seed(r, n):
    """N venues written straight into the stopped server's database."""
    assert r.stop() == 0, r.read_log()
    con = sqlite3.connect(os.path.join(r.dir, "relais.db"))
    with con:
        con.executemany("INSERT INTO venues (name, address, created_at, updated_at) "
                        "VALUES (?, ?, 0, 0)",
                        (("Seed %d" % i, "%d rue du Pré " % i + "x" * 200)
                         for i in range(n)))
    con.close()
    r.start()


class Burst:
    """Threads posting venues back to back; every 201 is a committed row."""

    def __init__(self, r, threads=2):
        self.r = r
        self.stop_flag = threading.Event()
        self.lock = threading.Lock()
        self.committed = []          # (id, time the 201 arrived)
        self.failures = []
        self.threads = [threading.Thread(target=self.loop, args=(i,)) for i in range(threads)]

    def loop(self, k):
        i = 0
        while not self.stop_flag.is_set():
            i += 1
            st, out, _ = self.r.req("POST", "/api/v1/venues",
                                    {"name": "Burst %d-%d" % (k, i), "commune": "Chambéry"})
            with self.lock:
                if st == 201:
                    self.committed.append((out["id"], time.monotonic()))
                else:
                    self.failures.append((st, out))

    def __enter__(self):
        for t in self.threads:
            t.start()
        return self

    def __exit__(self, *exc):
        self.stop_flag.set()
        for t in self.threads:
            t.join(timeout=60)

    def ids_before(self, t):
        with self.lock:
            return {i for i, when in self.committed if when < t}

    def count(self):
        with self.lock:
            return len(self.committed)


def backup(r, dest, *extra):
    return subprocess.run([BIN, "backup", dest, "-c", r.config] + list(extra),
                          capture_output=True, text=True, cwd=r.dir, timeout=120)


def integrity(path):
    con = sqlite3.connect("file:%s?mode=ro" % path, uri=True)
    try:
        return (con.execute("PRAGMA integrity_check").fetchall(),
                con.execute("PRAGMA journal_mode").fetchone()[0],
                {row[0] for row in con.execute("SELECT id FROM venues")})
    finally:
        con.close()


def test_backup_during_write_burst(r):
    seed(r, SEED_ROWS)
    dest = os.path.join(r.dir, "backups", "relais-copy.db")
    os.mkdir(os.path.dirname(dest))
    with Burst(r) as burst:
        deadline = time.time() + 30
        while burst.count() < 50 and time.time() < deadline:
            time.sleep(0.01)
        assert burst.count() >= 50, "the writers did not get going: %r" % burst.failures[:3]
        started = time.monotonic()
        before = burst.ids_before(started)
        during_from = burst.count()
        p = backup(r, dest)
        ended = time.monotonic()
        during = burst.count() - during_from
        time.sleep(0.2)
    assert p.returncode == 0, p.stderr
    assert "integrity_check ok" in p.stderr, p.stderr
    assert "link secret copied to %s.secret" % dest in p.stderr, p.stderr
    assert not burst.failures, "writes failed during the backup: %r" % burst.failures[:3]
    assert during > 0, "no write landed while the backup ran (%.2fs)" % (ended - started)
    check, mode, ids = integrity(dest)
    assert check == [("ok",)], check
    assert mode == "delete", "the copy should open without a -wal: %s" % mode
    assert not os.path.exists(dest + "-wal"), os.listdir(os.path.dirname(dest))
    missing = before - ids
    assert not missing, "%d rows committed before the backup are missing: %r" % (
        len(missing), sorted(missing)[:5])
    assert len(ids) >= SEED_ROWS + len(before), (len(ids), len(before))
    # The copy is a snapshot: nothing beyond what the live database holds.
    live = {row[0] for row in r.db("SELECT id FROM venues")}
    assert ids <= live, sorted(ids - live)[:5]
    # The link secret came along, private like the database.
    with open(os.path.join(r.dir, "relais.db.secret"), "rb") as a, \
            open(dest + ".secret", "rb") as b:
        assert a.read() == b.read()
    assert os.stat(dest).st_mode & 0o077 == 0, oct(os.stat(dest).st_mode)
    assert os.stat(dest + ".secret").st_mode & 0o777 == 0o600
    # Only the copy and its secret are left: no temporary file.
    assert sorted(os.listdir(os.path.dirname(dest))) == ["relais-copy.db",
                                                         "relais-copy.db.secret"]
    # The server kept serving, and answers its health check.
    assert r.req("GET", "/health", token=None)[0] == 200


def test_restore_as_documented(r):
    v = r.ok("POST", "/api/v1/venues", {"name": "Espace France Services"})
    dest = os.path.join(r.dir, "nightly.db")
    p = backup(r, dest)
    assert p.returncode == 0, p.stderr
    r.ok("POST", "/api/v1/venues", {"name": "Written after the backup"})
    # docs/operations.md, "Restore": stop, put the copy and its secret in
    # place, remove any WAL of the old file, start.
    assert r.stop() == 0
    db = os.path.join(r.dir, "relais.db")
    for suffix in ("-wal", "-shm"):
        if os.path.exists(db + suffix):
            os.unlink(db + suffix)
    shutil.copyfile(dest, db)
    shutil.copyfile(dest + ".secret", db + ".secret")
    r.start()
    names = [x["name"] for x in r.ok("GET", "/api/v1/venues?limit=500")["items"]]
    assert "Espace France Services" in names and "Written after the backup" not in names, names
    assert r.ok("GET", "/api/v1/venues/%d" % v["id"])["name"] == "Espace France Services"


def test_backup_replaces_an_old_copy_only_when_done(r):
    dest = os.path.join(r.dir, "copy.db")
    assert backup(r, dest).returncode == 0
    first = os.stat(dest).st_ino
    r.ok("POST", "/api/v1/venues", {"name": "Médiathèque Jean-Jacques Rousseau"})
    assert backup(r, dest).returncode == 0
    assert os.stat(dest).st_ino != first, "the new copy is renamed over the old one"
    assert "Médiathèque Jean-Jacques Rousseau" in {n for (n,) in sqlite3.connect(dest).execute(
        "SELECT name FROM venues")}
    # A failed backup (no database at the configured path) leaves it alone.
    with open(dest, "rb") as f:
        before = f.read()
    other = os.path.join(r.dir, "other.conf.lua")
    with open(other, "w") as f:
        f.write('database = "%s"\nplugins = {}\n' % os.path.join(r.dir, "nothing-here.db"))
    p = subprocess.run([BIN, "backup", dest, "-c", other], capture_output=True, text=True,
                       cwd=r.dir, timeout=60)
    assert p.returncode == 1 and "no database there" in p.stderr, p.stderr
    assert not os.path.exists(os.path.join(r.dir, "nothing-here.db")), \
        "a backup must never create a database"
    with open(dest, "rb") as f:
        assert f.read() == before


def test_backup_refusals(r):
    db = os.path.join(r.dir, "relais.db")
    size = os.stat(db).st_size
    p = backup(r, db)
    assert p.returncode == 1 and "is the database itself" in p.stderr, p.stderr
    assert os.stat(db).st_size == size
    p = backup(r, r.dir)
    assert p.returncode == 1 and "directory" in p.stderr, p.stderr
    p = backup(r, os.path.join(r.dir, "no", "such", "dir", "x.db"))
    assert p.returncode == 1 and "cannot write beside" in p.stderr, p.stderr
    p = subprocess.run([BIN, "backup", "-c", r.config], capture_output=True, text=True,
                       cwd=r.dir, timeout=60)
    assert p.returncode == 2 and "FILE" in p.stderr, p.stderr
    p = subprocess.run([BIN, "backup", "a.db", "b.db", "-c", r.config], capture_output=True,
                       text=True, cwd=r.dir, timeout=60)
    assert p.returncode == 2, p.stderr
    leftovers = [f for f in os.listdir(r.dir) if ".tmp-" in f]
    assert not leftovers, leftovers


def test_backup_does_not_migrate(r):
    """A backup copies whatever schema it finds: it works on a database
    written by a newer Relais (which serve and migrate refuse) and leaves it
    untouched."""
    assert r.stop() == 0
    db = os.path.join(r.dir, "relais.db")
    con = sqlite3.connect(db)
    with con:
        con.execute("INSERT INTO schema_migrations (component, version, applied_at) "
                    "VALUES ('core', 999, 0)")
    con.close()
    dest = os.path.join(r.dir, "newer.db")
    p = backup(r, dest)
    assert p.returncode == 0, p.stderr
    got = sqlite3.connect(dest).execute(
        "SELECT max(version) FROM schema_migrations WHERE component = 'core'").fetchone()
    assert got == (999,), got
    # Put the database back as the harness expects it, to stop cleanly.
    con = sqlite3.connect(db)
    with con:
        con.execute("DELETE FROM schema_migrations WHERE version = 999")
    con.close()


if __name__ == "__main__":
    run(globals())
