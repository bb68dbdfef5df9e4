"""e2e: credit-based flow control. A fast producer (`yes`) in a session whose
terminal nobody reads must not grow the controller's, the agent's or the
CLI's memory; when the terminal is read again, the session goes on."""
import time

import phtest
from phtest import StackTest, wait_until


def rss_kb(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


class FlowControlTest(StackTest):

    def test_fast_producer_keeps_memory_bounded(self):
        s = self.shell()
        ctl, agent = self.stack.pid("controller"), self.stack.pid("agent-1")
        s.send("yes porthole-flow-control\r")
        s.expect(b"porthole-flow-control\r\n")
        # nobody reads the terminal now: the CLI blocks, credit runs out
        base = {p: rss_kb(p) for p in (ctl, agent, s.pid)}
        samples = []
        end = time.monotonic() + 4
        while time.monotonic() < end:
            samples.append({p: rss_kb(p) for p in (ctl, agent, s.pid)})
            time.sleep(0.2)  # sampling interval, not a wait for a result
        for p in (ctl, agent, s.pid):
            peak = max(x[p] for x in samples)
            # the producer makes ~50 MB/s: without flow control this grows by
            # hundreds of MB; with it, by about one window (plus ASan's quarantine)
            self.assertLess(peak - base[p], 64 * 1024,
                            f"pid {p} grew from {base[p]} kB to {peak} kB")
        # drain, then Ctrl-C: the session is still usable
        got = 0
        t0 = time.monotonic()
        while time.monotonic() - t0 < 2:
            if s._read(0.1):
                got += len(s.buf)
                s.buf = b""
        self.assertGreater(got, 1024 * 1024, "the producer did not resume")
        s.send(b"\x03")

        def prompt_back():
            while s._read(0.2):  # drain what is there
                s.buf = s.buf[-4096:]
            return b"ph$ " in s.buf

        wait_until(prompt_back, 30, "the prompt after Ctrl-C")
        s.buf = b""
        self.assertIn("flow-ok", self.run_in(s, "echo flow-ok"))


if __name__ == "__main__":
    phtest.main()
