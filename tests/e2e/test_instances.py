"""e2e: enrollment through activations, and the instance registry.

Real redis-server, controller and agents from deploy/porthole-dev; the CLI
and porthole-agent register are run as a user would run them."""
import json
import os
import subprocess
import tempfile

import phtest
from phtest import StackTest, wait_until


class InstanceTest(StackTest):

    def register(self, act_id, code, state_dir=None):
        state_dir = state_dir or tempfile.mkdtemp(prefix="ph-agent-", dir=self.stack.dir)
        p = subprocess.run(
            [os.path.join(phtest.BUILD, "porthole-agent"), "register",
             "--controller", open(os.path.join(self.stack.dir, "agent_endpoint")).read().strip(),
             "--server-key", self.stack.env["PORTHOLE_SERVER_KEY"],
             "--activation-id", act_id, "--activation-code", code, "--state-dir", state_dir],
            capture_output=True, text=True, timeout=60)
        return p, state_dir

    def activation(self, *args):
        p = self.stack.cli("create-activation", *args, "--output", "text")
        self.assertEqual(p.returncode, 0, p.stderr)
        act_id, code = p.stdout.decode().strip().split("\t")
        return act_id, code

    def test_first_agent_listed_online_with_tags_and_facts(self):
        info = self.stack.instances()[self.stack.instance_id]
        self.assertEqual(info["PingStatus"], "Online")
        self.assertRegex(info["InstanceId"], r"^mi-[0-9a-f]{17}$")
        for field in ("LastPingDateTime", "AgentVersion", "PlatformName", "ComputerName",
                      "IPAddress"):
            self.assertTrue(info.get(field), f"{field} missing in {info}")
        tags = {t["Key"]: t["Value"] for t in info["Tags"]}
        self.assertEqual(tags.get("env"), "dev")

    def test_tag_filter_lists_only_matching_instances(self):
        web = self.stack.add_agent("role=web,env=test")
        out = self.stack.cli_json("describe-instance-information", "--filters",
                                  "Key=tag:role,Values=web")
        ids = [i["InstanceId"] for i in out["InstanceInformationList"]]
        self.assertEqual(ids, [web])
        out = self.stack.cli_json("describe-instance-information", "--filters",
                                  "Key=tag:role,Values=nothing")
        self.assertEqual(out["InstanceInformationList"], [])
        table = self.stack.cli("describe-instance-information", "--output", "table")
        self.assertEqual(table.returncode, 0)
        self.assertIn(web.encode(), table.stdout)

    def test_registration_limit_and_wrong_code(self):
        act_id, code = self.activation("--tags", "k=v", "--registration-limit", "1")
        p, d = self.register(act_id, "wrong-" + code)
        self.assertNotEqual(p.returncode, 0)
        self.assertIn("activation", p.stderr.lower())
        self.assertFalse(os.path.exists(os.path.join(d, "agent.key")), "wrong code left a key")
        p, d = self.register(act_id, code)
        self.assertEqual(p.returncode, 0, p.stderr)
        iid = p.stdout.strip().splitlines()[-1]
        self.assertRegex(iid, r"^mi-[0-9a-f]{17}$")
        st = os.stat(os.path.join(d, "agent.key"))
        self.assertEqual(st.st_mode & 0o777, 0o600)
        # the limit is used up: a second machine is refused, nothing changes
        before = self.stack.redis("SCARD", "ph:instances")
        p, d = self.register(act_id, code)
        self.assertNotEqual(p.returncode, 0)
        self.assertIn("activation", p.stderr.lower())
        self.assertEqual(self.stack.redis("SCARD", "ph:instances"), before)

    def test_expired_activation_is_refused(self):
        act_id, code = self.activation("--expires-in", "1h")
        # an hour is the shortest wait a test can afford: move the expiry back
        self.stack.redis("HSET", "ph:activation:{%s}" % act_id, "expires_ms", "1000")
        p, _ = self.register(act_id, code)
        self.assertNotEqual(p.returncode, 0)
        self.assertIn("activation", p.stderr.lower())

    def test_unknown_key_can_only_enroll(self):
        # a key the cluster does not know, on the agents port
        out = self.stack.rawclient("--body", "hello", port="agent")
        self.assertNotIn("reply hello_reply", out)
        out = self.stack.rawclient("--body", "enroll-bad", port="agent")
        self.assertTrue(out.startswith("error InvalidActivation"), out)


if __name__ == "__main__":
    phtest.main()
