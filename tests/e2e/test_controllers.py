"""e2e: several controllers on one Redis (DESIGN.md 1: "any number, state in Redis").

A second porthole-controller (same keypair, same Redis, its own ports) runs
beside the stack's. The agent is connected to the first one; a CLI that
talks only to the second one lists the instance, runs a command, opens an
interactive session (its stream goes to the controller that holds the
agent) and ends sessions wherever they run.
"""
import json
import os
import re
import signal
import socket
import subprocess

import phtest
from phtest import BUILD, StackTest, wait_until


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def port_open(port):
    with socket.socket() as s:
        s.settimeout(0.2)
        return s.connect_ex(("127.0.0.1", port)) == 0


class ControllersTest(StackTest):

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        st = cls.stack
        cls.b_client = free_port()
        cls.b_agent = free_port()
        cls.b_log = open(os.path.join(st.dir, "logs", "controller-b.log"), "wb")
        cls.b = subprocess.Popen(
            [os.path.join(BUILD, "porthole-controller"), "run",
             "--redis", st.env["PORTHOLE_REDIS_URL"],
             "--key-file", os.path.join(st.dir, "controller.key"),
             "--agent-bind", f"tcp://127.0.0.1:{cls.b_agent}",
             "--client-bind", f"tcp://127.0.0.1:{cls.b_client}",
             "--heartbeat-interval-ms", "1000"],
            stdout=cls.b_log, stderr=subprocess.STDOUT)
        wait_until(lambda: port_open(cls.b_client), 20, "the second controller's port")

    @classmethod
    def tearDownClass(cls):
        cls.b.send_signal(signal.SIGTERM)
        try:
            cls.b.wait(timeout=20)
        except subprocess.TimeoutExpired:
            cls.b.kill()
            cls.b.wait()
        cls.b_log.close()
        super().tearDownClass()

    def via_b(self):
        return {"PORTHOLE_ENDPOINT": f"tcp://127.0.0.1:{self.b_client}"}

    def cli_b(self, *args, **kw):
        return self.stack.cli(*args, env=self.via_b(), **kw)

    def json_b(self, *args):
        p = self.cli_b(*args, "--output", "json")
        self.assertEqual(p.returncode, 0, p.stderr)
        return json.loads(p.stdout)

    def test_the_other_controller_lists_the_instance(self):
        iid = self.stack.instance_id
        got = self.json_b("describe-instance-information", "--filters",
                          f"Key=InstanceIds,Values={iid}")["InstanceInformationList"]
        self.assertEqual([(i["InstanceId"], i["PingStatus"]) for i in got], [(iid, "Online")])

    def test_command_through_the_other_controller(self):
        p = self.cli_b("start-session", "--target", self.stack.instance_id, "--command",
                       "echo via-$((40+2)); exit 3")
        self.assertEqual(p.returncode, 3, p.stderr)
        self.assertIn(b"via-42", p.stdout)

    def shell_via_b(self):
        e = dict(self.stack.env, **self.via_b())
        s = phtest.PtySession(["porthole", "start-session", "--target", self.stack.instance_id],
                              e, 80, 24)
        self.addCleanup(s.close)
        sid = s.expect(rb"Starting session with SessionId: ([^\s.]+)").group(1).decode()
        s.expect(rb"[$#] ")
        s.send("echo shell-$((6*7))\r")
        s.expect(rb"shell-42\r\n")
        return s, sid

    def test_interactive_session_through_the_other_controller(self):
        s, sid = self.shell_via_b()
        s.send("exit 5\r")
        self.assertEqual(s.wait(), 5)
        hist = wait_until(lambda: self.stack.session(sid, "History"), 20, "the session ended")
        self.assertEqual(hist["Status"], "Terminated")

    def test_terminate_through_the_controller_without_the_agent(self):
        s = self.shell()  # on the first controller
        sid = [x["SessionId"] for x in self.stack.sessions("Active")
               if x["Status"] == "Connected"][0]
        p = self.cli_b("terminate-session", "--session-id", sid)
        self.assertEqual(p.returncode, 0, p.stderr)
        # the agent really closed it: the shell's CLI ends
        self.assertIsNotNone(s.wait(timeout=20))
        hist = wait_until(lambda: self.stack.session(sid, "History"), 20, "the session ended")
        self.assertEqual(hist["Status"], "Terminated")
        self.assertFalse([x for x in self.stack.sessions("Active") if x["SessionId"] == sid])

    def test_zz_agent_fails_over_and_its_session_goes_on(self):
        """Runs last: it stops the first controller (and starts it again)."""
        st = self.stack
        iid = st.add_agent(tags="failover=yes")
        conf = os.path.join(st.dir, "agents", "2", "agent.conf")
        with open(conf) as f:
            text = f.read()
        a = re.search(r"^controller\s*=\s*(\S+)$", text, re.M).group(1)
        with open(conf, "w") as f:
            f.write(re.sub(r"^controller\s*=.*$", f"controller={a},tcp://127.0.0.1:{self.b_agent}",
                           text, flags=re.M))
        st.stop("agent-2")
        st.start("agent-2")
        wait_until(lambda: st.ping_status(iid) == "Online", 30, "the agent Online on the first")
        # a shell through the second controller's API: its stream is on the first
        e = dict(st.env, **self.via_b())
        s = phtest.PtySession(["porthole", "start-session", "--target", iid], e, 80, 24)
        self.addCleanup(s.close)
        s.expect(rb"Starting session with SessionId")
        s.expect(rb"[$#] ")
        s.send("echo before-$((6*7))\r")
        s.expect(rb"before-42\r\n")
        holder = lambda: st.redis("HGET", f"ph:instance:{{{iid}}}", "controller")
        first = holder()
        st.stop("controller")
        try:
            # the agent gives the first controller 10 s, then goes to the second
            wait_until(lambda: holder() not in ("", first), 60,
                       "the agent registered with the second controller")
            wait_until(lambda: self.json_b("describe-instance-information", "--filters",
                                           f"Key=InstanceIds,Values={iid}")
                       ["InstanceInformationList"][0]["PingStatus"] == "Online", 20,
                       "the agent Online through the second controller")
            p = self.cli_b("start-session", "--target", iid, "--command", "echo failed-over")
            self.assertEqual(p.returncode, 0, p.stderr)
            self.assertIn(b"failed-over", p.stdout)
            # the open shell resumes through the second controller, nothing lost
            s.send("echo after-$((6*7))\r")
            s.expect(rb"after-42\r\n", timeout=60)
            s.send("exit\r")
            self.assertEqual(s.wait(timeout=20), 0)
        finally:
            st.start("controller")
            wait_until(lambda: st.ping_status(st.instance_id) == "Online", 60,
                       "the first agent back on the first controller")


if __name__ == "__main__":
    phtest.main()
