"""e2e: agents and controllers that go away and come back; timeouts."""
import re
import time

import phtest
from phtest import StackTest, wait_until


class ResilienceTest(StackTest):
    controller_args = "--heartbeat-interval-ms 1000"

    def test_agent_killed_then_restarted(self):
        iid = self.stack.instance_id
        self.assertEqual(self.stack.ping_status(iid), "Online")
        self.stack.stop("agent-1")
        wait_until(lambda: self.stack.ping_status(iid) == "ConnectionLost", 15,
                   "ConnectionLost after the agent died")
        self.stack.start("agent-1")
        wait_until(lambda: self.stack.ping_status(iid) == "Online", 20,
                   "Online after the agent came back")

    def test_controller_restart_mid_session_loses_no_byte(self):
        s = self.shell()
        n = 3000
        s.send(f"for i in $(seq 1 {n}); do echo line-$i; sleep 0.002; done; echo DONE-ALL\r")
        s.expect(rb"line-200\r\n", timeout=20)
        self.stack.stop("controller")
        self.stack.start("controller")
        m = s.expect(rb"([\s\S]*)DONE-ALL\r\n", timeout=60)
        seen_text = (b"line-200\r\n" + m.group(1)).decode(errors="replace")
        # the CLI may print its own notices on stderr (same terminal): keep only lines
        lines = re.findall(r"line-(\d+)\r\n", seen_text)
        got = [int(x) for x in lines]
        self.assertEqual(got, list(range(200, n + 1)), "lost, repeated or reordered lines")
        s.send("echo after-restart\r")
        s.expect(b"after-restart\r\n")


class TimeoutTest(StackTest):
    controller_args = "--heartbeat-interval-ms 1000 --idle-timeout-seconds 3 " \
                      "--max-duration-seconds 8"

    def test_idle_timeout_ends_a_silent_session(self):
        s = self.shell()
        t0 = time.monotonic()
        s.expect(rb"idle timeout", timeout=15)
        s.wait(10)
        self.assertGreaterEqual(time.monotonic() - t0, 2)

    def test_max_duration_ends_a_busy_session(self):
        s = self.shell()
        t0 = time.monotonic()
        deadline = t0 + 20
        while s.poll() is None and time.monotonic() < deadline:
            s.send("echo busy\r")  # input keeps the idle timeout away
            time.sleep(0.5)  # pacing of the typing, not a wait for a result
            if b"maximum" in s.buf or b"max" in s.buf.lower() and b"duration" in s.buf:
                break
        s.wait(10)
        self.assertGreaterEqual(time.monotonic() - t0, 6)
        self.assertIn(b"duration", s.buf)


if __name__ == "__main__":
    phtest.main()
