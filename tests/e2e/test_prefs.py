"""e2e: preferences that shape sessions (admin rights, shell profile), the
agent's promise to listen on nothing, and --help on every program and verb."""
import json
import os
import re
import stat
import subprocess
import time

import phtest
from phtest import StackTest, wait_until

SUDOERS = "/etc/sudoers.d/porthole-users"


class PreferencesTest(StackTest):

    def tearDown(self):
        self.stack.cli_json("update-preferences", "--admin-rights", "true", "--shell-profile", "",
                            "--log-group", "porthole/sessions", "--streaming-enabled", "true",
                            "--log-input", "false")
        super().tearDown()

    def cast(self, group, sid):
        """The asciicast events of a session's stream, oldest first ([] when none yet)."""
        p = self.stack.cli("logs", "get-log-events", "--log-group-name", group,
                           "--log-stream-name", sid, "--start-from-head")
        if p.returncode != 0:
            return []
        return [json.loads(e["message"]) for e in json.loads(p.stdout)["events"]]

    def test_log_preferences_shape_the_transcript(self):
        group = "team/prefs-e2e"
        prefs = self.stack.cli_json("update-preferences", "--log-group", group,
                                    "--streaming-enabled", "false", "--log-input", "true")
        self.assertEqual((prefs["LogGroupName"], prefs["StreamingEnabled"], prefs["LogInput"],
                          prefs["EncryptionEnabled"]), (group, False, True, False))
        got = self.stack.cli_json("get-preferences")
        self.assertEqual(got["LogGroupName"], group)
        before = {x["SessionId"] for x in self.stack.sessions("Active")}
        s = self.shell()
        (sid,) = {x["SessionId"] for x in self.stack.sessions("Active")} - before
        self.assertEqual(self.run_in(s, "echo pref-$((40+2))").strip(), "pref-42")
        # not streaming: a streamed transcript would be there within ~1 s; this one
        # waits for the end of the session
        time.sleep(3)
        self.assertEqual(self.cast(group, sid), [])
        s.send("exit\r")
        s.wait()
        wait_until(lambda: self.stack.session(sid, "History"), 20, "the session in History")
        events = wait_until(lambda: self.cast(group, sid), 20, "the transcript in " + group)
        self.assertEqual(events[0]["version"], 2)
        typed = "".join(e[2] for e in events[1:] if e[1] == "i")
        printed = "".join(e[2] for e in events[1:] if e[1] == "o")
        self.assertIn("echo pref-$((40+2))", typed)  # --log-input true: "i" events
        self.assertIn("pref-42", printed)
        self.assertEqual(self.cast("porthole/sessions", sid), [])

    def test_log_preferences_refuse_bad_values(self):
        for args, text in ((("--log-group", "no spaces"), b"--log-group"),
                           (("--streaming-enabled", "maybe"), b"--streaming-enabled"),
                           (("--encryption-enabled", "2"), b"--encryption-enabled")):
            p = self.stack.cli("update-preferences", *args)
            self.assertEqual(p.returncode, 64, args)
            self.assertIn(text, p.stderr)

    def test_admin_rights_write_and_remove_the_sudoers_file(self):
        self.stack.cli_json("update-preferences", "--admin-rights", "true")
        s = self.shell()
        self.assertEqual(self.run_in(s, "sudo -n id -un").strip(), "root")
        st = os.stat(SUDOERS)
        self.assertEqual(stat.S_IMODE(st.st_mode), 0o440)
        s.send("exit\r")
        s.wait()
        prefs = self.stack.cli_json("update-preferences", "--admin-rights", "false")
        self.assertFalse(prefs["AdminRights"])
        s = self.shell()
        self.assertFalse(os.path.exists(SUDOERS), "admin rights off, sudoers file still there")
        self.assertNotEqual(self.run_in(s, "sudo -n true 2>&1; echo rc=$?").strip()[-4:], "rc=0")

    def test_shell_profile_runs_at_session_start(self):
        self.stack.cli_json("update-preferences", "--shell-profile", "export PH_PROFILE=loaded")
        s = self.shell()
        self.assertEqual(self.run_in(s, "echo $PH_PROFILE").strip(), "loaded")

    def test_agent_listens_on_nothing(self):
        pid = self.stack.pid("agent-1")
        out = subprocess.check_output(["ss", "-ltnupH"], text=True)
        self.assertNotIn(f"pid={pid},", out)
        self.assertNotIn("porthole-agent", out)

    def test_help_on_every_program_and_verb(self):
        top = self.stack.cli("--help")
        self.assertEqual(top.returncode, 0)
        verbs = re.findall(rb"^  ([a-z][a-z-]+)  ", top.stdout, re.M)
        self.assertGreaterEqual(len(verbs), 9)
        for verb in verbs:
            p = self.stack.cli(verb.decode(), "--help")
            self.assertEqual(p.returncode, 0, verb)
            self.assertIn(b"sage", p.stdout, verb)  # Usage / usage
        for prog, subs in (("porthole-controller", ["keygen", "bootstrap-admin", "run"]),
                           ("porthole-agent", ["register", "run"])):
            exe = os.path.join(phtest.BUILD, prog)
            self.assertEqual(subprocess.run([exe, "--help"], capture_output=True).returncode, 0)
            for sub in subs:
                p = subprocess.run([exe, sub, "--help"], capture_output=True)
                self.assertEqual(p.returncode, 0, (prog, sub))
        bad = self.stack.cli("describe-sessions", "--no-such-option")
        self.assertEqual(bad.returncode, 64)
        self.assertIn(b"no-such-option", bad.stderr)


if __name__ == "__main__":
    phtest.main()
