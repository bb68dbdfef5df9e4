"""e2e: interactive sessions and commands through the real CLI in a PTY."""
import base64
import hashlib
import os
import re
import subprocess
import time

import phtest
from phtest import StackTest, wait_until


class SessionTest(StackTest):

    def test_shell_basics(self):
        s = self.shell()
        self.assertIn("hello porthole", self.run_in(s, "echo hello porthole"))
        self.assertRegex(self.run_in(s, "tty"), r"/dev/pts/\d+")
        self.assertEqual(self.run_in(s, "id -un").strip(), "porthole-user")
        self.assertEqual(self.run_in(s, "echo $TERM").strip(), "xterm-256color")
        self.assertNotEqual(self.run_in(s, "id -u").strip(), "0")

    def test_window_size_and_resize(self):
        s = self.shell(cols=91, rows=27)
        self.assertEqual(self.run_in(s, "stty size").strip(), "27 91")
        s.resize(120, 40)
        wait_until(lambda: self.run_in(s, "stty size").strip() == "40 120", 10,
                   "the new size on the remote PTY")

    def test_ctrl_c_reaches_remote_process_and_session_goes_on(self):
        s = self.shell()
        s.send("sleep 100; echo after-sleep\r")
        s.expect(rb"sleep 100; echo after-sleep\r\n")
        # ^C must reach sleep, not bash before it forked sleep
        wait_until(lambda: subprocess.run(["pgrep", "-u", "porthole-user", "-x", "sleep"],
                                          capture_output=True).returncode == 0, 10,
                   "sleep 100 running on the machine")
        t0 = time.monotonic()
        s.send(b"\x03")
        s.expect(rb"ph\$ ", timeout=10)
        self.assertLess(time.monotonic() - t0, 10)
        self.assertIsNone(s.poll(), "Ctrl-C ended the CLI")
        self.assertIn("still here", self.run_in(s, "echo still here"))

    def test_exit_status_and_history(self):
        s = self.shell()
        s.send("exit 3\r")
        self.assertEqual(s.wait(), 3)
        sid = re.search(rb"Exiting session with sessionId: ([^\s.]+)", s.buf)
        self.assertIsNotNone(sid, s.buf)
        sid = sid.group(1).decode()
        hist = wait_until(lambda: self.stack.session(sid, "History"), 10, "the session in History")
        self.assertEqual(hist["Status"], "Terminated")
        self.assertTrue(hist.get("StartDate") and hist.get("EndDate"), hist)
        self.assertEqual(hist["Target"], self.stack.instance_id)

    def test_paste_one_mib_arrives_intact(self):
        s = self.shell()
        data = base64.b64encode(os.urandom(786432))  # 1 MiB of text
        self.assertEqual(len(data), 1048576)
        s.send(f"stty raw -echo; echo RAW-$((6*7)); head -c {len(data)} | sha256sum; "
               "stty sane\r")
        s.expect(rb"RAW-42")  # the remote terminal is raw from here on
        s.send(data)
        digest = hashlib.sha256(data).hexdigest().encode()
        s.expect(digest, timeout=60)

    def test_command_mode_stdout_stderr_exit_code(self):
        p = self.stack.cli("start-session", "--target", self.stack.instance_id, "--command",
                           "echo to-out; echo to-err >&2; exit 7")
        self.assertEqual(p.returncode, 7, p.stderr)
        self.assertEqual(p.stdout, b"to-out\n")
        self.assertIn(b"to-err", p.stderr)
        self.assertNotIn(b"to-err", p.stdout)

    def test_command_mode_passes_stdin(self):
        p = self.stack.cli("start-session", "--target", self.stack.instance_id, "--command",
                           "wc -c", input=b"x" * 300000)
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertEqual(p.stdout.strip(), b"300000")

    def test_terminate_from_second_cli(self):
        s = self.shell()
        active = wait_until(lambda: [x for x in self.stack.sessions("Active")
                                     if x["Status"] == "Connected"], 10, "a Connected session")
        sid = active[0]["SessionId"]
        p = self.stack.cli("terminate-session", "--session-id", sid)
        self.assertEqual(p.returncode, 0, p.stderr)
        s.wait(20)
        wait_until(lambda: (self.stack.session(sid, "History") or {}).get("Status") ==
                   "Terminated", 10, "the session in History as Terminated")

    def test_detach_and_resume_keeps_output(self):
        s = self.shell()
        s.send("(sleep 1; echo LATE-OUTPUT) &\r")
        s.expect(rb"ph\$ ")
        s.send("\r~.")
        self.assertEqual(s.wait(), 75)
        sid = re.search(rb"resume-session --session-id (\S+)", s.buf)
        self.assertIsNotNone(sid, s.buf)
        sid = sid.group(1).decode()
        wait_until(lambda: (self.stack.session(sid) or {}).get("Status") == "Disconnected", 15,
                   "Disconnected after ~.")
        r = self.stack.start_pty("resume-session", "--session-id", sid)
        self.addCleanup(r.close)
        r.expect(b"LATE-OUTPUT", timeout=15)
        r.send("echo back-again\r")
        r.expect(b"back-again\r\n")
        r.send("exit\r")
        self.assertEqual(r.wait(), 0)


if __name__ == "__main__":
    phtest.main()
