"""A relais process started by hand (not through harness.Relais): for tests
that need their own binary (an installed one), no -c, or another listening
address. The server is given port 0 and the port it took is read from its
log, so no test ever races another for a port."""
import http.client
import os
import re
import signal
import subprocess
import time

LISTENING = re.compile(r"\bhttp: listening on (\S+) port (\d+)")


class Server:
    """`ARGV` run in CWD with ENV, its stderr and stdout in LOG_PATH;
    PREEXEC (optional) runs in the child before it (to change user)."""

    def __init__(self, argv, cwd, log_path, env=None, preexec=None):
        self.log_path = log_path
        self.log = open(log_path, "w")
        self.proc = subprocess.Popen(argv, cwd=cwd, env=env, stdout=self.log,
                                     stderr=self.log, stdin=subprocess.DEVNULL,
                                     preexec_fn=preexec)
        self.host = None
        self.port = None

    def read_log(self):
        with open(self.log_path, errors="replace") as f:
            return f.read()

    def wait_listening(self, timeout=30):
        """Waits for the listening line, then for /health: returns the port."""
        deadline = time.time() + timeout
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise AssertionError("relais exited (%d) at start:\n%s"
                                     % (self.proc.returncode, self.read_log()))
            m = LISTENING.search(self.read_log())
            if m:
                self.host, self.port = m.group(1), int(m.group(2))
                try:
                    if self.get("/health")[0] == 200:
                        return self.port
                except OSError:
                    pass
            time.sleep(0.05)
        raise AssertionError("relais did not listen in %ds:\n%s" % (timeout, self.read_log()))

    def get(self, path, headers=None, method="GET", body=None):
        """(status, body bytes, headers dict lower-cased)."""
        c = http.client.HTTPConnection(self.host, self.port, timeout=30)
        try:
            c.request(method, path, body=body, headers=headers or {})
            resp = c.getresponse()
            data = resp.read()
            return resp.status, data, {k.lower(): v for k, v in resp.getheaders()}
        finally:
            c.close()

    def stop(self, sig=signal.SIGTERM):
        """Stops the process; its exit status."""
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
                raise AssertionError("relais did not stop on %s" % sig)
        self.log.close()
        return self.proc.returncode


def write_config(path, text):
    with open(path, "w") as f:
        f.write(text)
    os.chmod(path, 0o600)
