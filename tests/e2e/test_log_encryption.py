"""e2e: encrypted session logs (issue 3). With --encryption-enabled the
logshipper stores every event of the session's log group sealed with
AES-256-GCM under the group's data key, which Redis holds only wrapped by the
logshippers' master key: nothing readable is left in Redis."""
import json
import os
import subprocess
import tempfile

import phtest
from phtest import StackTest, wait_until

GROUP = "enc/e2e"


class LogEncryptionTest(StackTest):

    def tearDown(self):
        self.stack.cli_json("update-preferences", "--log-group", "porthole/sessions",
                            "--encryption-enabled", "false")
        super().tearDown()

    def raw_events(self, stream):
        """[msg] of ph:logs:{GROUP}:stream straight from Redis."""
        out = self.stack.redis("EVAL", "local o = {} for _, e in ipairs(redis.call('XRANGE', "
                               "KEYS[1], '-', '+')) do o[#o + 1] = e[2][4] end "
                               "return table.concat(o, '\\n')", "1",
                               "ph:logs:{%s}:%s" % (GROUP, stream))
        return [m for m in out.split("\n") if m]

    def session(self, command):
        before = {x["SessionId"] for x in self.stack.sessions("Active")}
        s = self.shell()
        (sid,) = {x["SessionId"] for x in self.stack.sessions("Active")} - before
        self.assertIn("secret-42", self.run_in(s, command))
        s.send("exit\r")
        s.wait()
        wait_until(lambda: (self.stack.session(sid, "History") or {}).get("Status") ==
                   "Terminated", 30, "the session Terminated (transcript acknowledged)")
        return sid

    def test_stored_encrypted(self):
        prefs = self.stack.cli_json("update-preferences", "--log-group", GROUP,
                                    "--encryption-enabled", "true")
        self.assertTrue(prefs["EncryptionEnabled"])
        sid = self.session("echo secret-$((6*7))-text")
        for stream in (sid, sid + ".txt"):
            msgs = self.raw_events(stream)
            self.assertTrue(msgs, stream)
            self.assertTrue(all(m.startswith("phenc1:") for m in msgs), msgs[:2])
        dump = self.stack.redis("EVAL", "local o = {} for _, k in ipairs(redis.call('KEYS', "
                                "'ph:log*')) do if redis.call('TYPE', k).ok == 'stream' then "
                                "for _, e in ipairs(redis.call('XRANGE', k, '-', '+')) do "
                                "o[#o + 1] = table.concat(e[2], ' ') end end end "
                                "return table.concat(o, '\\n')", "0")
        self.assertNotIn("secret-42", dump)
        group = self.stack.redis("HGET", "ph:loggroup:{%s}" % GROUP, "data_key")
        self.assertTrue(group.startswith("phkey1:"), group)
        self.assertEqual(self.stack.redis("HGET", "ph:loggroup:{%s}" % GROUP, "encrypted"), "1")

        # readers allowed to read the group see the text: the controller has a
        # logshipper open the data key
        events = self.stack.cli_json("logs", "get-log-events", "--log-group-name", GROUP,
                                     "--log-stream-name", sid, "--start-from-head")["events"]
        printed = "".join(json.loads(e["message"])[2] for e in events[1:]
                          if json.loads(e["message"])[1] == "o")
        self.assertIn("secret-42-text", printed)
        found = self.stack.cli_json("logs", "filter-log-events", "--log-group-name", GROUP,
                                    "--filter-pattern", '"secret-42-text"')["events"]
        self.assertTrue(found)
        self.assertEqual({e["logStreamName"] for e in found} >= {sid + ".txt"}, True)
        self.assertTrue(all("secret-42-text" in e["message"] for e in found))
        nothing = self.stack.cli_json("logs", "filter-log-events", "--log-group-name", GROUP,
                                      "--filter-pattern", '"no-such-words-here"')["events"]
        self.assertEqual(nothing, [])
        # an event moved to another stream does not open there: shown as such
        key_a = "ph:logs:{%s}:%s" % (GROUP, sid + ".txt")
        moved = self.raw_events(sid)[1]
        self.stack.redis("XADD", key_a, "*", "ts", "9999999999999", "msg", moved, "ing", "0")
        events = self.stack.cli_json("logs", "get-log-events", "--log-group-name", GROUP,
                                     "--log-stream-name", sid + ".txt")["events"]
        self.assertIn("does not decrypt", events[-1]["message"])

        # the group stays encrypted when a later session does not ask for it
        self.stack.cli_json("update-preferences", "--encryption-enabled", "false")
        sid2 = self.session("echo secret-$((6*7))-again")
        msgs = self.raw_events(sid2)
        self.assertTrue(msgs and all(m.startswith("phenc1:") for m in msgs))

    def test_logshipper_with_another_master_key_refuses_to_start(self):
        other = os.path.join(tempfile.mkdtemp(dir=self.stack.dir), "other.key")
        exe = os.path.join(phtest.BUILD, "porthole-logshipper")
        p = subprocess.run([exe, "master-keygen", other], capture_output=True, timeout=30)
        self.assertEqual(p.returncode, 0, p.stderr)
        p = subprocess.run([exe, "master-keygen", other], capture_output=True, timeout=30)
        self.assertEqual(p.returncode, 65)
        self.assertIn(b"never overwritten", p.stderr)
        # the stack's logshipper has put the check value of its key in Redis
        self.assertTrue(self.stack.redis("GET", "ph:logs:kcv"))
        p = subprocess.run([exe, "run", "--redis", self.stack.env["PORTHOLE_REDIS_URL"],
                            "--key-file", os.path.join(self.stack.dir, "logshipper.key"),
                            "--master-key-file", other, "--bind", "tcp://127.0.0.1:0"],
                           capture_output=True, timeout=30)
        self.assertEqual(p.returncode, 65, p.stderr)
        self.assertIn(b"not the master key the other logshippers use", p.stderr)


if __name__ == "__main__":
    phtest.main()
