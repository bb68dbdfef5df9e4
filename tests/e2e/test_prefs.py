"""e2e: preferences that shape sessions (admin rights, shell profile), the
agent's promise to listen on nothing, and --help on every program and verb."""
import os
import re
import stat
import subprocess

import phtest
from phtest import StackTest, wait_until

SUDOERS = "/etc/sudoers.d/porthole-users"


class PreferencesTest(StackTest):

    def tearDown(self):
        self.stack.cli_json("update-preferences", "--admin-rights", "true", "--shell-profile", "")
        super().tearDown()

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
