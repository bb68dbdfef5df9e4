"""e2e: bad input at both ports gets a clear error or a dropped peer, and the
controller answers the next good request every time."""
import hashlib
import hmac
import os
import socket
import subprocess
import tempfile

import phtest
from phtest import StackTest, wait_until


class BadInputTest(StackTest):

    def assert_still_serving(self):
        p = self.stack.cli("describe-instance-information", "--output", "json")
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertIn(self.stack.instance_id.encode(), p.stdout)

    def ports(self):
        cport = int(self.stack.env["PORTHOLE_ENDPOINT"].rsplit(":", 1)[1])
        aport = int(open(os.path.join(self.stack.dir, "agent_endpoint")).read().rsplit(":", 1)[1])
        return cport, aport

    def test_random_tcp_bytes_at_both_ports(self):
        for port in self.ports():
            for payload in (os.urandom(5000), b"\xff" + b"\x00" * 8 + b"\x7f" + os.urandom(100),
                            b"GET / HTTP/1.0\r\n\r\n"):
                with socket.create_connection(("127.0.0.1", port), 5) as c:
                    c.sendall(payload)
                    c.settimeout(5)
                    try:
                        while c.recv(4096):
                            pass
                    except (socket.timeout, ConnectionResetError):
                        pass
        self.assert_still_serving()

    def test_garbage_frames_from_an_authenticated_client(self):
        key = self.stack.admin_key_file()
        out = self.stack.rawclient("--random", "3000", key_file=key)
        self.assertTrue(out.startswith("error InvalidRequest"), out)
        out = self.stack.rawclient("--hex", "0801", key_file=key)  # version 1, no body
        self.assertTrue(out.startswith("error InvalidRequest"), out)
        self.assert_still_serving()

    def test_oversized_frames_are_refused(self):
        key = self.stack.admin_key_file()
        out = self.stack.rawclient("--size", str(2 * 1024 * 1024), key_file=key)
        self.assertEqual(out, "no reply")
        out = self.stack.rawclient("--size", str(2 * 1024 * 1024), port="agent")
        self.assertEqual(out, "no reply")
        self.assert_still_serving()

    def test_unknown_key_is_denied_with_a_clear_message(self):
        out = self.stack.rawclient("--body", "describe-instances")
        self.assertTrue(out.startswith("error AccessDenied"), out)
        cfg = tempfile.mkdtemp(dir=self.stack.dir)
        env = {"PORTHOLE_CONFIG_DIR": cfg}
        p = self.stack.cli("configure", "--endpoint", self.stack.env["PORTHOLE_ENDPOINT"],
                           "--server-key", self.stack.env["PORTHOLE_SERVER_KEY"], env=env)
        self.assertEqual(p.returncode, 0, p.stderr)
        p = self.stack.cli("describe-instance-information", env=env)
        self.assertEqual(p.returncode, 77, p.stderr)
        self.assertIn(b"not registered", p.stderr)
        self.assert_still_serving()

    def test_wrong_server_key_times_out_with_advice(self):
        other = subprocess.check_output(
            [os.path.join(phtest.BUILD, "porthole-controller"), "keygen",
             os.path.join(self.stack.dir, "other.key")], text=True).strip().splitlines()[-1]
        p = self.stack.cli("describe-instance-information", "--timeout", "2",
                           env={"PORTHOLE_SERVER_KEY": other})
        self.assertEqual(p.returncode, 69, p.stderr)
        self.assertIn(b"server key", p.stderr)

    def start_token(self):
        key = self.stack.admin_key_file()
        out = self.stack.rawclient("--body", "start-session", "--target",
                                   self.stack.instance_id, key_file=key)
        self.assertTrue(out.startswith("reply start_session_reply"), out)
        _, _, sid, token = out.split()
        return sid, token

    def test_replayed_token_is_refused(self):
        key = self.stack.admin_key_file()
        sid, token = self.start_token()
        first = self.stack.rawclient("--body", "attach", "--session-id", sid, "--token", token,
                                     key_file=key)
        self.assertEqual(first, "reply attach_reply")
        again = self.stack.rawclient("--body", "attach", "--session-id", sid, "--token", token,
                                     key_file=key)
        self.assertTrue(again.startswith("error InvalidToken"), again)
        self.assert_still_serving()

    def test_expired_and_forged_tokens_are_refused(self):
        key = self.stack.admin_key_file()
        sid, _ = self.start_token()
        secret = bytes.fromhex(self.stack.redis("GET", "ph:secret:cluster"))
        expiry = 1000  # long past
        mac = hmac.new(secret, f"{sid}\nadmin\n{expiry}".encode(), hashlib.sha256).hexdigest()
        out = self.stack.rawclient("--body", "attach", "--session-id", sid, "--token",
                                   f"{expiry}.{mac}", key_file=key)
        self.assertTrue(out.startswith("error InvalidToken"), out)
        out = self.stack.rawclient("--body", "attach", "--session-id", sid, "--token",
                                   "99999999999999.deadbeef", key_file=key)
        self.assertTrue(out.startswith("error InvalidToken"), out)
        self.assert_still_serving()

    def test_unknown_and_offline_targets(self):
        p = self.stack.cli("start-session", "--target", "mi-00000000000000000",
                           "--command", "true")
        self.assertNotEqual(p.returncode, 0)
        self.assertIn(b"not registered", p.stderr)
        off = self.stack.add_agent("role=offline")
        name = "agent-%d" % max(int(f[6:-4]) for f in os.listdir(
            os.path.join(self.stack.dir, "pids")) if f.startswith("agent-"))
        self.stack.stop(name)
        wait_until(lambda: self.stack.ping_status(off) == "ConnectionLost", 15, "ConnectionLost")
        p = self.stack.cli("start-session", "--target", off, "--command", "true")
        self.assertNotEqual(p.returncode, 0)
        self.assertIn(b"ConnectionLost", p.stderr)
        self.assert_still_serving()

    def test_malformed_preferences(self):
        for args, word in ((["--idle-session-timeout", "0"], b"idle"),
                           (["--idle-session-timeout", "61"], b"idle"),
                           (["--max-session-duration", "1441"], b"duration"),
                           (["--run-as-default-user", "root"], b"root"),
                           (["--run-as-enabled", "maybe"], b"true")):
            p = self.stack.cli("update-preferences", *args)
            self.assertNotEqual(p.returncode, 0, args)
            self.assertIn(word, p.stderr.lower(), (args, p.stderr))
        prefs = self.stack.cli_json("update-preferences", "--idle-session-timeout", "30")
        self.assertEqual(prefs["IdleSessionTimeout"], 30)
        self.assertEqual(self.stack.cli_json("get-preferences")["IdleSessionTimeout"], 30)
        self.stack.cli_json("update-preferences", "--idle-session-timeout", "20")
        self.assert_still_serving()


if __name__ == "__main__":
    phtest.main()
