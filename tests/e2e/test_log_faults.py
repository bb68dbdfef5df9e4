"""e2e: session logs when things fail mid-session (issue 3).

- The logshipper is killed with SIGKILL while a session's `seq` output
  flows and started again 10 s later: the session stays Terminating all
  that time (checked again and again), becomes Terminated once the
  logshipper is back, and its transcript holds every line once, in order,
  exactly as the CLI printed it.
- The agent is killed with SIGKILL while its spool holds batches no
  logshipper acknowledged (the logshipper is frozen with SIGSTOP, so they
  pile up), started again, then the logshipper resumes: nothing that was
  spooled is lost, nothing is stored twice.
- Two known bugs found here (see the issue 3 test report) are checked and
  printed as KNOWN BUG without failing, while the rest of those tests
  (nothing lost in the end) is asserted: the agent's restart ends the
  session as Terminated while its transcript is still in the spool; an
  agent that (re)started while no logshipper was registered does not ship
  to one that registers later, until it connects again.

Every wait is a condition with a deadline; the only fixed wait is the 10 s
the logshipper stays dead, during which the session's state is sampled.
"""
import json
import os
import re
import signal
import socket
import struct
import time

import phtest
from phtest import StackTest, wait_until

GROUP = "porthole/sessions"
ANSI = re.compile(rb"\x1b\[[0-9;?]*[A-Za-z]")
DEAD_GAP_S = 10  # the logshipper stays dead this long
SAMPLE_S = 0.5   # how often the session state is checked while it is dead
SAMPLES_MIN = 5
LATE_SHIP_S = 20  # a logshipper registered late should get the spool by then


def resp(port, *args):
    """One Redis command over a plain socket (RESP), binary-safe."""
    out = b"*%d\r\n" % len(args)
    for a in args:
        a = a if isinstance(a, bytes) else str(a).encode()
        out += b"$%d\r\n%s\r\n" % (len(a), a)
    with socket.create_connection(("127.0.0.1", port), timeout=30) as s:
        s.sendall(out)
        return _resp_read(s.makefile("rb"))


def _resp_read(f):
    line = f.readline()
    kind, rest = line[:1], line[1:-2]
    if kind == b"+":
        return rest
    if kind == b"-":
        raise AssertionError(f"redis error: {rest!r}")
    if kind == b":":
        return int(rest)
    if kind == b"$":
        n = int(rest)
        return None if n < 0 else f.read(n + 2)[:-2]
    if kind == b"*":
        n = int(rest)
        return None if n < 0 else [_resp_read(f) for _ in range(n)]
    raise AssertionError(f"unexpected redis reply {line!r}")


def resume(pid):
    """SIGCONT, for a cleanup: the process may be gone already."""
    try:
        os.kill(pid, signal.SIGCONT)
    except ProcessLookupError:
        pass


def alive(pid):
    """True until pid is gone and reaped (porthole-dev start refuses to
    start a process whose pid still answers kill -0, as a zombie does)."""
    try:
        os.kill(pid, 0)
        return True
    except ProcessLookupError:
        return False


class LogFaultsTest(StackTest):

    # -- Redis, state, transcript ---------------------------------------
    def redis_port(self):
        return int(self.stack.env["PORTHOLE_REDIS_URL"].rsplit(":", 1)[1])

    def r(self, *args):
        return resp(self.redis_port(), *args)

    def state(self, sid):
        return self.r("HGET", "ph:session:{%s}" % sid, "state")

    def messages(self, stream):
        """The messages of ph:logs:{GROUP}:stream, in order."""
        key = "ph:logs:{%s}:%s" % (GROUP, stream)
        out = []
        for _id, fields in self.r("XRANGE", key, "-", "+"):
            d = dict(zip(fields[::2], fields[1::2]))
            out.append(d[b"msg"])
        return out

    def spool(self, sid, agent=1):
        return os.path.join(self.stack.dir, "agents", str(agent), "spool", sid)

    def spooled(self, sid):
        """{batch file name: bytes} of the session's spool."""
        d = self.spool(sid)
        out = {}
        for name in sorted(os.listdir(d)) if os.path.isdir(d) else []:
            if name.endswith(".batch"):
                try:
                    with open(os.path.join(d, name), "rb") as f:
                        out[name] = f.read()
                except FileNotFoundError:  # acknowledged meanwhile
                    pass
        return out

    @staticmethod
    def whole_records(data):
        """The data of each whole record of a spool segment (16-byte header
        "PSB1", batch, length, checksum; agent/agent_spool_disk.h). A record
        cut short (the agent killed in the middle of its write) is left out,
        as the agent's start-up scan leaves it out."""
        out, off = [], 0
        while off + 16 <= len(data) and data[off:off + 4] == b"PSB1":
            length = struct.unpack_from("<I", data, off + 8)[0]
            if off + 16 + length > len(data):
                break
            out.append(data[off + 16:off + 16 + length])
            off += 16 + length
        return out

    def check_transcript(self, sid, count, cli_bytes=None):
        """Every number 1..count once and in order, DONE-42 once, in the
        text stream and in the asciicast "o" data; the "o" data is what the
        CLI printed (when given)."""
        want = [str(i).encode() for i in range(1, count + 1)]
        text = [ANSI.sub(b"", m).split(b"\r")[-1] for m in self.messages(sid + ".txt")]
        self.assertEqual([t for t in text if t.isdigit()], want,
                         "the text stream lost, repeated or reordered lines")
        self.assertEqual(text.count(b"DONE-42"), 1)
        cast = self.messages(sid)
        self.assertEqual(json.loads(cast[0])["version"], 2)
        out = b"".join(json.loads(m)[2].encode() for m in cast[1:]
                       if json.loads(m)[1] == "o")
        lines = [ln.split(b"\r")[-1] for ln in ANSI.sub(b"", out).split(b"\r\n")]
        self.assertEqual([ln for ln in lines if ln.isdigit()], want,
                         "the asciicast lost, repeated or reordered output")
        if cli_bytes is not None:
            printed = re.sub(rb"\r?\n?porthole: [^\r\n]*\r\n", b"", cli_bytes)
            self.assertIn(out, printed, "the stored output differs from what the CLI printed")

    # -- a session ----------------------------------------------------------
    def open_session(self):
        s = self.stack.start_pty("start-session", "--target", self.stack.instance_id)
        self.addCleanup(s.close)
        sid = s.expect(rb"Starting session with SessionId: (\S+)").group(1).decode()
        s.buf = b""  # from here on: what the remote side printed
        self.wait_seen(s, rb"[$#] ", 0, 30, "the remote shell's prompt")
        return s, sid

    @staticmethod
    def wait_seen(s, pattern, pos, timeout, what):
        """Reads the CLI's output (all there is: the CLI, and through its
        credit the remote program, go only as fast as we read) until
        pattern appears after pos."""
        def cond():
            if s._read(0.05):
                while s._read(0):
                    pass
            return re.search(pattern, s.buf[pos:])
        return wait_until(cond, timeout, what)

    def hold(self, cond, until, what):
        """Checks cond every SAMPLE_S until the monotonic time until;
        returns how many times it held (it must hold every time)."""
        n = 0
        while time.monotonic() < until:
            self.assertTrue(cond(), f"{what} stopped holding after {n} checks")
            n += 1
            time.sleep(min(SAMPLE_S, max(0.0, until - time.monotonic())))
        return n

    def known_bug(self, ok, what):
        """A bug these tests found, since fixed: an assertion naming it."""
        self.assertTrue(ok, what)

    def kill(self, name, sig=signal.SIGKILL):
        pid = self.stack.pid(name)
        os.kill(pid, sig)
        if sig == signal.SIGKILL:
            wait_until(lambda: not alive(pid), 10, f"{name} gone")
        return pid

    # -- tests ----------------------------------------------------------------
    def test_logshipper_killed_mid_session(self):
        # 2.7 MB: well past the 1 MiB the agent may read ahead of the CLI
        count = 400000
        s, sid = self.open_session()
        pos = len(s.buf)
        s.send(f"seq 1 {count}; echo DONE-$((6*7))\r")
        self.wait_seen(s, rb"\n20000\r\n", pos, 60, "seq's output flowing")
        restarted = False
        try:
            self.kill("logshipper")
            dead_since = time.monotonic()
            self.assertNotIn(b"DONE-42\r\n", s.buf, "the output ended before the kill")
            self.wait_seen(s, rb"DONE-42\r\n[\s\S]*[$#] ", pos, 60, "the command's end")
            s.send("exit\r")
            self.assertEqual(s.wait(timeout=60), 0)
            wait_until(lambda: self.state(sid) == b"Terminating",
                       dead_since + DEAD_GAP_S - time.monotonic(),
                       "Terminating while the logshipper is dead")
            terminating_after = time.monotonic() - dead_since
            n = self.hold(lambda: self.state(sid) == b"Terminating", dead_since + DEAD_GAP_S,
                          "Terminating while the logshipper is dead")
            self.assertGreaterEqual(n, SAMPLES_MIN)
            print(f"\nTerminating {terminating_after:.1f} s after the kill, checked {n} times; "
                  f"{len(self.spooled(sid))} batches spooled", end=" ", flush=True)
            self.assertTrue(self.spooled(sid), "nothing waits in the spool")
            self.stack.start("logshipper")
            restarted = True
        finally:
            if not restarted:
                self.stack.start("logshipper")
        back = time.monotonic()
        wait_until(lambda: self.state(sid) == b"Terminated", 90, "Terminated")
        print(f"Terminated {time.monotonic() - back:.1f} s after the restart", end=" ",
              flush=True)
        self.check_transcript(sid, count, s.buf)
        self.assertFalse(os.path.exists(self.spool(sid)), "the spool still holds the session")

    def run_spooled_session(self, count):
        """A session whose whole output is spooled and none of it
        acknowledged (the logshipper frozen). Returns (session id, pty,
        logshipper pid, {batch: bytes} spooled); the logshipper stays
        frozen: the caller resumes it (a cleanup does too)."""
        s, sid = self.open_session()
        ls_pid = self.stack.pid("logshipper")
        os.kill(ls_pid, signal.SIGSTOP)
        self.addCleanup(resume, ls_pid)
        pos = len(s.buf)
        s.send(f"seq 1 {count}; echo DONE-$((6*7))\r")
        self.wait_seen(s, rb"DONE-42\r\n[\s\S]*[$#] ", pos, 60, "the command's end")
        # DONE-42 is in a spooled batch of both streams within the 1 s cut,
        # each in a whole record, so that a kill cannot catch the agent
        # writing the last lines
        def all_spooled():
            b = self.spooled(sid)
            streams = {b".txt" if (sid + ".txt").encode() in r else b"cast"
                       for v in b.values() for r in self.whole_records(v) if b"DONE-42" in r}
            return b if streams == {b".txt", b"cast"} else None
        spooled = wait_until(all_spooled, 20, "all output spooled")
        self.assertGreaterEqual(len(spooled), 2, "expected several unacknowledged batches")
        return sid, s, ls_pid, spooled

    def test_agent_killed_mid_spool_loses_nothing(self):
        count = 50000
        sid, s, ls_pid, spooled = self.run_spooled_session(count)
        self.kill("agent-1")
        self.assertEqual(set(self.spooled(sid)), set(spooled), "the spool changed at the kill")
        self.stack.start("agent-1")
        os.kill(ls_pid, signal.SIGCONT)
        wait_until(lambda: not os.path.exists(self.spool(sid)), 60,
                   "the restarted agent shipped its spool")
        self.check_transcript(sid, count)
        hist = wait_until(lambda: self.stack.session(sid, "History"), 20, "the session in History")
        self.assertEqual(hist["Status"], "Terminated")

    def test_agent_restart_keeps_terminating_until_shipped(self):
        """DESIGN.md §4: Terminating lasts until every transcript byte is
        acknowledged. Known bug: the controller's Hello script ends the
        sessions a restarted agent no longer runs as Terminated at once,
        while their transcript is still in the spool."""
        sid, s, ls_pid, _ = self.run_spooled_session(20000)
        self.kill("agent-1")
        self.stack.start("agent-1")
        wait_until(lambda: self.stack.ping_status(self.stack.instance_id) == "Online", 30,
                   "the agent Online again")
        self.assertTrue(self.spooled(sid))
        self.known_bug(self.state(sid) != b"Terminated",
                       "a restarted agent's session is Terminated while its transcript is "
                       "still in the spool")
        os.kill(ls_pid, signal.SIGCONT)
        wait_until(lambda: not os.path.exists(self.spool(sid)), 60, "the spool shipped")
        self.check_transcript(sid, 20000)

    def test_logshipper_registered_after_agent_start(self):
        """Known bug: logshippers reach agents only in HelloReply, so an agent
        that said Hello while none was registered never ships (it keeps its
        spool) until it connects again. Then nothing is lost."""
        count = 5000
        sid, s, ls_pid, _ = self.run_spooled_session(count)
        self.kill("agent-1")
        self.kill("logshipper")  # frozen: SIGKILL still ends it
        # what 30 s without a refresh does: the registration expires
        for lid in self.r("SMEMBERS", "ph:logshippers"):
            self.r("DEL", b"ph:logshipper:{" + lid + b"}")
            self.r("SREM", "ph:logshippers", lid)
        self.stack.start("agent-1")
        wait_until(lambda: self.stack.ping_status(self.stack.instance_id) == "Online", 30,
                   "the agent Online again")
        self.stack.start("logshipper")
        wait_until(lambda: self.r("SCARD", "ph:logshippers") == 1, 20,
                   "the logshipper registered")
        deadline = time.monotonic() + LATE_SHIP_S
        while time.monotonic() < deadline and os.path.exists(self.spool(sid)):
            time.sleep(SAMPLE_S)
        self.known_bug(not os.path.exists(self.spool(sid)),
                       "an agent that started while no logshipper was registered does not ship "
                       "to one that registers later")
        # a new connection (Hello) tells the agent: then nothing is lost
        self.stack.stop("agent-1")
        self.stack.start("agent-1")
        wait_until(lambda: not os.path.exists(self.spool(sid)), 60, "the spool shipped")
        self.check_transcript(sid, count)

if __name__ == "__main__":
    phtest.main()
