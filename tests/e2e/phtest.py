"""phtest: what the e2e tests share.

Every test brings a real stack up with deploy/porthole-dev (real redis-server,
porthole-controller, porthole-agent) in its own temp dir on free loopback
ports, drives the real `porthole` CLI (through a real PTY for interactive
sessions), and stops everything it started, by pid, with `porthole-dev down`.
No sleeps-and-hope: every wait is a condition polled until a deadline.
"""
import fcntl
import json
import os
import pty
import re
import select
import shutil
import signal
import struct
import subprocess
import tempfile
import termios
import time
import unittest

SRC = os.environ.get("PORTHOLE_SOURCE_DIR") or os.path.abspath(
    os.path.join(os.path.dirname(__file__), "..", ".."))
BUILD = os.environ.get("PORTHOLE_BUILD_DIR") or os.path.join(SRC, "build")
DEV = os.path.join(SRC, "deploy", "porthole-dev")
RAWCLIENT = os.path.join(BUILD, "tests", "ph-rawclient")


def wait_until(cond, timeout, what):
    """Polls cond() until it returns a true value; fails the test after timeout s."""
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        last = cond()
        if last:
            return last
        time.sleep(0.05)
    raise AssertionError(f"timed out after {timeout}s waiting for {what} (last: {last!r})")


class Stack:
    """A porthole-dev stack in a temp dir."""

    def __init__(self, controller_args=""):
        self.dir = tempfile.mkdtemp(prefix="ph-e2e-")
        env = dict(os.environ, PORTHOLE_BUILD_DIR=BUILD,
                   PORTHOLE_DEV_CONTROLLER_ARGS=controller_args)
        p = subprocess.run([DEV, "up", self.dir], env=env, capture_output=True, text=True,
                           timeout=300)
        if p.returncode != 0:
            logs = self.logs()
            subprocess.run([DEV, "down", self.dir], capture_output=True, timeout=120)
            raise AssertionError(f"porthole-dev up failed: {p.stderr[-2000:]}\n{logs}")
        self.instance_id = p.stdout.strip().splitlines()[-1]
        self.env = dict(env)
        out = subprocess.check_output(["bash", "-c", f"set -a; . {self.dir}/env; env -0"])
        for kv in out.split(b"\0"):
            if b"=" in kv:
                k, v = kv.split(b"=", 1)
                self.env[k.decode()] = v.decode()
        self.env.pop("PORTHOLE_OUTPUT", None)
        self.env.pop("PORTHOLE_PROFILE", None)

    # -- processes --------------------------------------------------------
    def down(self):
        subprocess.run([DEV, "down", self.dir], capture_output=True, timeout=120)

    def stop(self, name):
        subprocess.run([DEV, "stop", self.dir, name], check=True, capture_output=True,
                       timeout=60)

    def start(self, name):
        subprocess.run([DEV, "start", self.dir, name], check=True, capture_output=True,
                       timeout=60, env=self.env)

    def pid(self, name):
        with open(os.path.join(self.dir, "pids", name + ".pid")) as f:
            return int(f.read())

    def add_agent(self, tags="porthole-dev=true"):
        p = subprocess.run([DEV, "agent", self.dir, "--tags", tags], env=self.env,
                           capture_output=True, text=True, timeout=120)
        assert p.returncode == 0, p.stderr
        return p.stdout.strip().splitlines()[-1]

    def logs(self):
        out = []
        logdir = os.path.join(self.dir, "logs")
        for name in sorted(os.listdir(logdir)) if os.path.isdir(logdir) else []:
            with open(os.path.join(logdir, name), errors="replace") as f:
                out.append(f"--- {name} (tail)\n" + "".join(f.readlines()[-40:]))
        return "\n".join(out)

    # -- the CLI ----------------------------------------------------------
    def cli(self, *args, timeout=30, input=None, env=None):
        e = dict(self.env, **(env or {}))
        return subprocess.run(["porthole", *args], env=e, capture_output=True, timeout=timeout,
                              input=input)

    def cli_json(self, *args, **kw):
        p = self.cli(*args, "--output", "json", **kw)
        assert p.returncode == 0, f"porthole {' '.join(args)} exited {p.returncode}: {p.stderr!r}"
        return json.loads(p.stdout)

    def instances(self):
        return {i["InstanceId"]: i for i in
                self.cli_json("describe-instance-information")["InstanceInformationList"]}

    def ping_status(self, iid):
        return self.instances().get(iid, {}).get("PingStatus")

    def sessions(self, state):
        return self.cli_json("describe-sessions", "--state", state)["Sessions"]

    def session(self, sid, state="Active"):
        for s in self.sessions(state):
            if s["SessionId"] == sid:
                return s
        return None

    def redis(self, *args):
        url = self.env["PORTHOLE_REDIS_URL"]
        port = url.rsplit(":", 1)[1]
        return subprocess.check_output(["redis-cli", "-p", port, *args], text=True).strip()

    def rawclient(self, *args, port="client", key_file=None):
        ep = self.env["PORTHOLE_ENDPOINT"] if port == "client" else open(
            os.path.join(self.dir, "agent_endpoint")).read().strip()
        cmd = [RAWCLIENT, "--endpoint", ep, "--server-key", self.env["PORTHOLE_SERVER_KEY"]]
        if key_file:
            cmd += ["--key-file", key_file]
        return subprocess.run(cmd + list(args), capture_output=True, text=True,
                              timeout=30).stdout.strip()

    def admin_key_file(self):
        return os.path.join(self.dir, "cli", "default.key")

    def start_pty(self, *args, cols=80, rows=24):
        return PtySession(["porthole", *args], self.env, cols, rows)


class PtySession:
    """A CLI run in a real pseudo-terminal, as a person would run it."""

    def __init__(self, argv, env, cols, rows):
        self.pid, self.fd = pty.fork()
        if self.pid == 0:
            try:
                os.execvpe(argv[0], argv, env)
            finally:
                os._exit(127)
        self.set_size(cols, rows)
        self.buf = b""
        self.status = None

    def set_size(self, cols, rows):
        fcntl.ioctl(self.fd, termios.TIOCSWINSZ, struct.pack("HHHH", rows, cols, 0, 0))

    def resize(self, cols, rows):
        self.set_size(cols, rows)
        os.kill(self.pid, signal.SIGWINCH)

    def send(self, data):
        if isinstance(data, str):
            data = data.encode()
        view = memoryview(data)
        while view:
            _, w, _ = select.select([], [self.fd], [], 10)
            if not w:
                raise AssertionError("the CLI does not read its terminal")
            n = os.write(self.fd, view[:4096])
            view = view[n:]
            self._read(0)

    def _read(self, timeout):
        r, _, _ = select.select([self.fd], [], [], timeout)
        if not r:
            return False
        try:
            chunk = os.read(self.fd, 65536)
        except OSError:
            chunk = b""
        if not chunk:
            return None
        self.buf += chunk
        return True

    def expect(self, pattern, timeout=15):
        """Waits until pattern (bytes regex) appears after what was consumed;
        consumes up to the end of the match and returns the match."""
        if isinstance(pattern, str):
            pattern = pattern.encode()
        rx = re.compile(pattern)
        deadline = time.monotonic() + timeout
        while True:
            m = rx.search(self.buf)
            if m:
                self.buf = self.buf[m.end():]
                return m
            left = deadline - time.monotonic()
            if left <= 0 or self._read(min(left, 0.5)) is None:
                raise AssertionError(f"did not see {pattern!r}; got {self.buf[-2000:]!r}")

    def poll(self):
        if self.status is None:
            pid, st = os.waitpid(self.pid, os.WNOHANG)
            if pid:
                self.status = os.waitstatus_to_exitcode(st)
        return self.status

    def wait(self, timeout=20):
        deadline = time.monotonic() + timeout
        while self.poll() is None:
            if time.monotonic() > deadline:
                raise AssertionError(f"the CLI did not exit; screen: {self.buf[-2000:]!r}")
            self._read(0.05)
        while self._read(0):
            pass
        return self.status

    def close(self):
        if self.poll() is None:
            os.kill(self.pid, signal.SIGKILL)
            os.waitpid(self.pid, 0)
            self.status = -9
        try:
            os.close(self.fd)
        except OSError:
            pass


class StackTest(unittest.TestCase):
    """Base class: one stack for all tests of a class (started in setUpClass)."""

    controller_args = "--heartbeat-interval-ms 1000"

    @classmethod
    def setUpClass(cls):
        cls.stack = Stack(cls.controller_args)

    @classmethod
    def tearDownClass(cls):
        stack = cls.stack
        stack.down()
        if os.environ.get("PORTHOLE_KEEP_E2E"):
            print(f"kept {stack.dir}")
        else:
            shutil.rmtree(stack.dir, ignore_errors=True)

    def tearDown(self):
        result = self._outcome.result
        if any(t is self for t, _ in result.failures + result.errors):  # this test failed
            print(self.stack.logs())

    def shell(self, *extra, cols=80, rows=24):
        """Opens an interactive session on the stack's agent and waits for a prompt."""
        s = self.stack.start_pty("start-session", "--target", self.stack.instance_id, *extra,
                                 cols=cols, rows=rows)
        self.addCleanup(s.close)
        s.expect(rb"Starting session with SessionId: (\S+)")
        s.expect(rb"[$#] ")  # the remote shell's own prompt
        # a prompt whose typed form differs from what the shell prints
        s.send("PS1='ph''$ '\r")
        s.expect(rb"ph\$ ")
        return s

    def run_in(self, s, command):
        """Types command; returns everything it printed."""
        marker = f"M{time.monotonic_ns()}-"
        s.send(f"{command}; echo {marker}$((6*7))\r")
        s.expect(rb"\$\(\(6\*7\)\)\r\n")  # the echo of the typed line
        m = s.expect(rb"([\s\S]*?)" + marker.encode() + rb"42\r\n")
        s.expect(rb"ph\$ ")
        text = re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", m.group(1).decode(errors="replace"))
        return text.replace("\r\n", "\n").lstrip("\r")


def main():
    unittest.main(verbosity=2)
