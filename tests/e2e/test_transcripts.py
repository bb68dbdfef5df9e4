"""e2e: session transcripts (issue 3) — the agent records, spools and ships
them to the logshipper; the session is Terminated only once the transcript
is acknowledged; a logshipper stopped mid-session loses nothing."""
import json
import os
import re
import signal
import socket
import time

import phtest
from phtest import StackTest, wait_until

GROUP = "porthole/sessions"


def resp_command(port, *args):
    """One Redis command over a plain socket (RESP), binary-safe."""
    out = b"*%d\r\n" % len(args)
    for a in args:
        a = a if isinstance(a, bytes) else str(a).encode()
        out += b"$%d\r\n%s\r\n" % (len(a), a)
    with socket.create_connection(("127.0.0.1", port), timeout=30) as s:
        s.sendall(out)
        f = s.makefile("rb")
        return _resp_read(f)


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
        if n < 0:
            return None
        data = f.read(n + 2)
        return data[:-2]
    if kind == b"*":
        n = int(rest)
        return None if n < 0 else [_resp_read(f) for _ in range(n)]
    raise AssertionError(f"unexpected redis reply {line!r}")


class TranscriptTest(StackTest):

    def redis_port(self):
        return int(self.stack.env["PORTHOLE_REDIS_URL"].rsplit(":", 1)[1])

    def events(self, stream):
        """[(ts, msg bytes)] of ph:logs:{GROUP}:stream, in order."""
        key = "ph:logs:{%s}:%s" % (GROUP, stream)
        out = []
        for _id, fields in resp_command(self.redis_port(), "XRANGE", key, "-", "+"):
            d = dict(zip(fields[::2], fields[1::2]))
            out.append((int(d[b"ts"]), d[b"msg"]))
        return out

    def state(self, sid):
        return resp_command(self.redis_port(), "HGET", "ph:session:{%s}" % sid, "state")

    def run_session(self, command, before=None, after=None):
        """Opens a shell and types command, then exit; before(sid) runs before
        the command, after(sid) once its output is complete. Returns (session
        id, every byte the CLI printed after the session started)."""
        s = self.stack.start_pty("start-session", "--target", self.stack.instance_id)
        self.addCleanup(s.close)
        m = s.expect(rb"Starting session with SessionId: (\S+)")
        sid = m.group(1).decode()
        s.buf = b""  # from here on, everything the remote side printed

        def seen(pattern, pos):
            def cond():
                s._read(0.2)
                return re.search(pattern, s.buf[pos:])
            return cond

        wait_until(seen(rb"[$#] ", 0), 30, "the remote shell's prompt")
        if before:
            before(sid)
        pos = len(s.buf)
        s.send(f"{command}; echo DONE-$((6*7))\r")
        wait_until(seen(rb"DONE-42\r\n[\s\S]*[$#] ", pos), 120, "the command's end")
        if after:
            after(sid)
        s.send("exit\r")
        self.assertEqual(s.wait(timeout=120), 0)
        return sid, s.buf

    def check_transcript(self, sid, cli_bytes, count):
        cast = self.events(sid)
        self.assertTrue(cast, "no asciicast events stored")
        header = json.loads(cast[0][1])
        self.assertEqual(header["version"], 2)
        self.assertIn("width", header)
        out = b""
        last_ts = 0
        for ts, msg in cast[1:]:
            self.assertGreaterEqual(ts, last_ts, "event timestamps go backwards")
            last_ts = ts
            ev = json.loads(msg)
            self.assertIsInstance(ev[0], float)
            if ev[1] == "o":
                out += ev[2].encode()
        # the "o" events, concatenated, are exactly what the CLI printed
        # (less the CLI's own notices, e.g. a reconnection to the controller)
        printed = re.sub(rb"\r?\n?porthole: [^\r\n]*\r\n", b"", cli_bytes)
        self.assertTrue(out in printed, "the stored output differs from what the CLI printed "
                        f"({len(out)} stored bytes, {len(printed)} printed)")
        self.assertGreater(len(out), count * 2)
        plain = re.sub(rb"\x1b\[[0-9;?]*[A-Za-z]", b"", out)
        nums = [ln.split(b"\r")[-1] for ln in plain.split(b"\r\n")]
        nums = [ln for ln in nums if ln.isdigit()]
        self.assertEqual(nums, [str(i).encode() for i in range(1, count + 1)])
        # the text lines: every number once, in order
        text = [re.sub(rb"\x1b\[[0-9;?]*[A-Za-z]", b"", m).split(b"\r")[-1]
                for _, m in self.events(sid + ".txt")]
        self.assertEqual([t for t in text if t.isdigit()],
                         [str(i).encode() for i in range(1, count + 1)])

    def test_transcript_byte_exact_and_terminated_after_ack(self):
        ls_pid = self.stack.pid("logshipper")

        def freeze_logshipper(_sid):
            # still registered, but it acknowledges nothing
            os.kill(ls_pid, signal.SIGSTOP)

        frozen = True
        try:
            sid, cli_bytes = self.run_session("seq 1 300000", after=freeze_logshipper)
            wait_until(lambda: self.state(sid) == b"Terminating", 20, "Terminating")
            time.sleep(2)
            self.assertEqual(self.state(sid), b"Terminating",
                             "Terminated before the transcript was acknowledged")
            os.kill(ls_pid, signal.SIGCONT)
            frozen = False

            def terminated():
                if self.state(sid) == b"Terminated":
                    return self.events(sid)  # acknowledged before: whole now
                return None

            wait_until(terminated, 60, "the session Terminated")
            self.check_transcript(sid, cli_bytes, 300000)
        finally:
            if frozen:
                os.kill(ls_pid, signal.SIGCONT)

    def test_logshipper_stopped_mid_session_loses_nothing(self):
        stopped = []

        def stop_logshipper(_sid):
            self.stack.stop("logshipper")
            stopped.append(True)

        def start_logshipper(_sid):
            self.stack.start("logshipper")
            stopped.clear()
            # registered again, so the controller waits for the transcript
            wait_until(lambda: resp_command(self.redis_port(), "SCARD", "ph:logshippers"), 20,
                       "the logshipper registered")

        try:
            sid, cli_bytes = self.run_session("seq 1 100000", before=stop_logshipper,
                                              after=start_logshipper)
            wait_until(lambda: self.state(sid) == b"Terminated", 60, "the session Terminated")
            self.check_transcript(sid, cli_bytes, 100000)
            hist = wait_until(lambda: self.stack.session(sid, "History"), 10,
                              "the session in History")
            self.assertEqual(hist["Status"], "Terminated")
        finally:
            if stopped:
                self.stack.start("logshipper")


if __name__ == "__main__":
    phtest.main()
