"""e2e: users, keys and permission policies (issue 5), through the real CLI.

One stack (Redis, controller, an env=dev agent from porthole-dev, plus an
env=prod agent). Besides the bootstrap admin, each user has a CLI of their own:
`porthole configure` in a config dir of theirs makes their key, and the admin
registers it with `iam create-user` + `iam add-user-key`, as a person would.
"""
import json
import os
import re
import subprocess
import tempfile
import uuid

import phtest
from phtest import StackTest, wait_until

DENIED = 77
API_ERROR = 70

DEV_ONLY = {
    "Version": "2026-11-01",
    "Statement": [
        {"Sid": "AllowDev", "Effect": "Allow", "Action": ["session:StartSession"],
         "Resource": ["instance/*"],
         "Condition": {"StringEquals": {"instance:ResourceTag/env": "dev"}}},
        {"Sid": "OwnSessions", "Effect": "Allow",
         "Action": ["session:TerminateSession", "session:ResumeSession"],
         "Resource": ["session/${username}-*"]},
        {"Sid": "ReadOnly", "Effect": "Allow",
         "Action": ["session:DescribeSessions", "instance:DescribeInstanceInformation"],
         "Resource": ["*"]},
    ],
}

NO_DEV = {
    "Version": "2026-11-01",
    "Statement": {"Sid": "NoDev", "Effect": "Deny", "Action": "session:StartSession",
                  "Resource": "instance/*",
                  "Condition": {"StringEquals": {"instance:ResourceTag/env": "dev"}}},
}


class User:
    """A person with a CLI config dir (and so a key) of their own."""

    def __init__(self, stack, name):
        self.stack, self.name = stack, name
        self.dir = tempfile.mkdtemp(prefix=f"cli-{name}-", dir=stack.dir)
        p = self.cli("configure", "--endpoint", stack.env["PORTHOLE_ENDPOINT"],
                     "--server-key", stack.env["PORTHOLE_SERVER_KEY"])
        assert p.returncode == 0, p.stderr
        self.key = p.stdout.decode().strip().splitlines()[-1]

    def env(self):
        return dict(self.stack.env, PORTHOLE_CONFIG_DIR=self.dir)

    def cli(self, *args, **kw):
        return self.stack.cli(*args, env={"PORTHOLE_CONFIG_DIR": self.dir}, **kw)

    def pty(self, *args):
        return phtest.PtySession(["porthole", *args], self.env(), 80, 24)


class IamTest(StackTest):

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        try:
            cls.dev = cls.stack.instance_id
            cls.prod = cls.stack.add_agent("env=prod")
            with open(os.path.join(cls.stack.dir, "dev-only.json"), "w") as f:
                json.dump(DEV_ONLY, f, indent=2)
            cls.admin_ok("iam", "create-policy", "dev-only", "--policy-document",
                         "file://" + os.path.join(cls.stack.dir, "dev-only.json"))
            cls.alice = cls.make_user("alice", "dev-only")
            cls.bob = cls.make_user("bob")
        except BaseException:
            cls.tearDownClass()
            raise

    @classmethod
    def admin_ok(cls, *args):
        p = cls.stack.cli(*args)
        assert p.returncode == 0, f"porthole {' '.join(args)}: {p.returncode} {p.stderr!r}"
        return p

    @classmethod
    def make_user(cls, name, *policies, tags=None):
        u = User(cls.stack, name)
        cls.admin_ok("iam", "create-user", name, *(["--tags", tags] if tags else []))
        cls.admin_ok("iam", "add-user-key", "--user", name, "--public-key", u.key)
        for pol in policies:
            cls.admin_ok("iam", "attach-user-policy", "--user", name, "--policy-name", pol)
        return u

    def fresh_user(self, prefix, *policies, tags=None):
        """A user of this test only (so that what it does to them cannot leak)."""
        return self.make_user(f"{prefix}{uuid.uuid4().hex[:6]}", *policies, tags=tags)

    def user_shell(self, user, target):
        """An interactive session of user on target; returns (pty, session id)."""
        s = user.pty("start-session", "--target", target)
        self.addCleanup(s.close)
        sid = s.expect(rb"Starting session with SessionId: (\S+)").group(1).decode()
        s.expect(rb"[$#] ")
        return s, sid

    def assert_denied(self, p, user, action, resource, why="no statement allows it"):
        err = p.stderr.decode()
        self.assertEqual(p.returncode, DENIED, err)
        self.assertIn(f"porthole: AccessDenied: user {user} may not {action} on {resource} "
                      f"({why})", err)

    # -- policies decide ------------------------------------------------------
    def test_alice_opens_sessions_only_on_dev_machines(self):
        p = self.alice.cli("start-session", "--target", self.dev, "--command", "echo on-dev")
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertEqual(p.stdout, b"on-dev\n")
        p = self.alice.cli("start-session", "--target", self.prod, "--command", "echo on-prod")
        self.assert_denied(p, "alice", "session:StartSession", "instance/" + self.prod)
        self.assertEqual(p.stdout, b"")

    def test_bob_without_policy_is_denied_everything(self):
        calls = [
            (("describe-instance-information",), "instance:DescribeInstanceInformation",
             "instance/*"),
            (("start-session", "--target", self.dev, "--command", "true"),
             "session:StartSession", "instance/" + self.dev),
            (("describe-sessions", "--state", "Active"), "session:DescribeSessions",
             "session/*"),
            (("get-preferences",), "preferences:GetPreferences", "*"),
            (("create-activation",), "activation:CreateActivation", "*"),
            (("iam", "list-users"), "iam:ListUsers", "*"),
            (("iam", "create-user", "mallory"), "iam:CreateUser", "user/mallory"),
            (("audit", "lookup-events"), "audit:LookupEvents", "*"),
        ]
        for args, action, resource in calls:
            with self.subTest(args=args):
                p = self.bob.cli(*args)
                self.assert_denied(p, "bob", action, resource)
                self.assertEqual(p.stdout, b"")

    def test_alice_ends_only_her_own_sessions(self):
        admin_shell = self.shell()
        admin_sid = wait_until(lambda: [x["SessionId"] for x in self.stack.sessions("Active")
                                        if x["Owner"] == "admin"
                                        and x["Status"] == "Connected"], 10,
                               "the admin's session Connected")[0]
        p = self.alice.cli("terminate-session", "--session-id", admin_sid)
        self.assert_denied(p, "alice", "session:TerminateSession", "session/" + admin_sid)
        self.assertIsNone(admin_shell.poll(), "the admin's session ended")
        self.assertIn("still-here", self.run_in(admin_shell, "echo still-here"))

        s, sid = self.user_shell(self.alice, self.dev)
        self.assertTrue(sid.startswith("alice-"), sid)
        p = self.alice.cli("terminate-session", "--session-id", sid)
        self.assertEqual(p.returncode, 0, p.stderr)
        s.wait(20)
        wait_until(lambda: (self.stack.session(sid, "History") or {}).get("Status") ==
                   "Terminated", 10, "alice's session Terminated")

    def test_admin_ends_anyones_session(self):
        s, sid = self.user_shell(self.alice, self.dev)
        wait_until(lambda: (self.stack.session(sid) or {}).get("Status") == "Connected", 10,
                   "alice's session Connected")
        p = self.stack.cli("terminate-session", "--session-id", sid)
        self.assertEqual(p.returncode, 0, p.stderr)
        s.wait(20)
        wait_until(lambda: (self.stack.session(sid, "History") or {}).get("Status") ==
                   "Terminated", 10, "alice's session Terminated by the admin")

    def test_explicit_deny_overrides_allow(self):
        with open(os.path.join(self.stack.dir, "no-dev.json"), "w") as f:
            json.dump(NO_DEV, f)
        name = "no-dev-" + uuid.uuid4().hex[:6]
        self.admin_ok("iam", "create-policy", name, "--policy-document",
                      "file://" + os.path.join(self.stack.dir, "no-dev.json"))
        carol = self.fresh_user("carol", "dev-only", name)
        p = carol.cli("start-session", "--target", self.dev, "--command", "true")
        self.assert_denied(p, carol.name, "session:StartSession", "instance/" + self.dev,
                           why=f"denied by policy {name} statement NoDev")
        sim = self.stack.cli_json("iam", "simulate-principal-policy", "--user", carol.name,
                                  "--action", "session:StartSession", "--resource",
                                  "instance/" + self.dev)["EvaluationResults"][0]
        self.assertEqual(sim["EvalDecision"], "explicitDeny")
        self.assertRegex(" ".join(sim["MatchedStatements"]), rf"{name}.*NoDev")
        # without the Deny, the Allow of dev-only applies again
        self.admin_ok("iam", "detach-user-policy", "--user", carol.name, "--policy-name", name)
        p = carol.cli("start-session", "--target", self.dev, "--command", "echo allowed")
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertEqual(p.stdout, b"allowed\n")

    # -- keys -----------------------------------------------------------------
    def test_removed_key_is_refused_on_an_open_connection(self):
        erin = self.fresh_user("erin", "dev-only")
        s, sid = self.user_shell(erin, self.dev)
        s.send("echo before-$((6*7))\r")
        s.expect(rb"before-42")
        p = erin.cli("describe-sessions", "--state", "Active")
        self.assertEqual(p.returncode, 0, p.stderr)

        self.admin_ok("iam", "remove-user-key", "--user", erin.name, "--public-key", erin.key)
        # her next call with the same key is refused with a message naming the key
        p = erin.cli("describe-sessions", "--state", "Active")
        self.assertEqual(p.returncode, DENIED, p.stderr)
        self.assertIn(erin.key.encode(), p.stderr)
        self.assertIn(b"not registered", p.stderr)
        p = erin.cli("start-session", "--target", self.dev, "--command", "true")
        self.assertEqual(p.returncode, DENIED, p.stderr)
        self.assertIn(b"not registered", p.stderr)
        # the CLI whose connection was open when the key went loses its session
        status = s.wait(40)
        self.assertEqual(status, DENIED, s.buf[-2000:])
        self.assertRegex(s.buf.decode(errors="replace"), r"AccessDenied")
        users = {u["UserName"]: u for u in self.stack.cli_json("iam", "list-users")["Users"]}
        self.assertEqual(users[erin.name]["PublicKeys"], [])

    def test_key_of_someone_else_is_refused(self):
        p = self.stack.cli("iam", "add-user-key", "--user", "bob", "--public-key",
                           self.alice.key)
        self.assertEqual(p.returncode, API_ERROR, p.stderr)
        self.assertIn(b"porthole: ", p.stderr)

    # -- run-as ---------------------------------------------------------------
    def test_runas_tag_gives_alice_her_own_account(self):
        unix = "ph-e2e-" + uuid.uuid4().hex[:6]
        subprocess.run(["useradd", "-m", "-s", "/bin/bash", unix], check=True,
                       capture_output=True)
        self.addCleanup(subprocess.run, ["userdel", "-r", unix], capture_output=True)
        before = self.stack.cli_json("get-preferences")
        self.admin_ok("update-preferences", "--run-as-enabled", "true")
        self.addCleanup(self.admin_ok, "update-preferences", "--run-as-enabled",
                        "true" if before["RunAsEnabled"] else "false")
        frank = self.fresh_user("frank", "dev-only", tags=f"RunAs={unix},team=e2e")
        p = frank.cli("start-session", "--target", self.dev, "--command", "id -un; id -u")
        self.assertEqual(p.returncode, 0, p.stderr)
        name, uid = p.stdout.decode().split()
        self.assertEqual(name, unix)
        self.assertNotEqual(uid, "0")
        # without the tag: the default user, never root
        self.admin_ok("iam", "untag-user", "--user", frank.name, "--tag-keys", "RunAs")
        p = frank.cli("start-session", "--target", self.dev, "--command", "id -un; id -u")
        self.assertEqual(p.returncode, 0, p.stderr)
        name, uid = p.stdout.decode().split()
        self.assertEqual(name, before["RunAsDefaultUser"] or "porthole-user")
        self.assertNotEqual(uid, "0")
        # an account that does not exist on the machine: a clear failure, not a fallback
        self.admin_ok("iam", "tag-user", "--user", frank.name, "--tags", "RunAs=ph-e2e-nobody")
        p = frank.cli("start-session", "--target", self.dev, "--command", "id -un")
        self.assertNotEqual(p.returncode, 0)
        self.assertEqual(p.stdout, b"")
        self.assertIn(b"ph-e2e-nobody", p.stderr)

    # -- simulate, documents, listings -----------------------------------------
    def test_simulate_principal_policy(self):
        out = self.stack.cli_json("iam", "simulate-principal-policy", "--user", "alice",
                                  "--action", "session:StartSession", "--resource",
                                  "instance/" + self.dev)
        self.assertEqual(out, {"EvaluationResults": [{
            "EvalActionName": "session:StartSession",
            "EvalResourceName": "instance/" + self.dev,
            "EvalDecision": "allowed",
            "MatchedStatements": out["EvaluationResults"][0]["MatchedStatements"]}]})
        self.assertRegex(out["EvaluationResults"][0]["MatchedStatements"][0],
                         r"policy dev-only.*statement AllowDev")
        p = self.stack.cli("iam", "simulate-principal-policy", "--user", "alice", "--action",
                           "session:StartSession", "--resource", "instance/" + self.prod,
                           "--output", "text")
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertRegex(p.stdout.decode(), r"^implicitDeny\s+session:StartSession\s+instance/"
                         + self.prod + r"\s+no statement allows it\n$")
        p = self.stack.cli("iam", "simulate-principal-policy", "--user", "alice", "--action",
                           "session:TerminateSession", "--resource",
                           "session/alice-0123456789abcdef0", "--output", "text")
        self.assertRegex(p.stdout.decode(), r"^allowed\s+session:TerminateSession\s+"
                         r"session/alice-0123456789abcdef0\s+.*OwnSessions")
        p = self.stack.cli("iam", "simulate-principal-policy", "--user", "alice", "--action",
                           "session:TerminateSession", "--resource",
                           "session/bob-0123456789abcdef0", "--output", "text")
        self.assertRegex(p.stdout.decode(), r"^implicitDeny\s")

    def test_create_policy_errors_point_at_the_place(self):
        bad_action = {"Version": "2026-11-01", "Statement": [
            {"Effect": "Allow", "Action": ["session:StartSession", "sesion:TerminateSession"],
             "Resource": "*"}]}
        p = self.stack.cli("iam", "create-policy", "typo", "--policy-document",
                           json.dumps(bad_action))
        self.assertEqual(p.returncode, API_ERROR, p.stderr)
        err = p.stderr.decode()
        self.assertIn("Statement[0].Action[1]", err)
        self.assertIn("sesion:TerminateSession", err)
        self.assertIn("session:TerminateSession", err)  # did you mean
        path = os.path.join(self.stack.dir, "broken.json")
        with open(path, "w") as f:
            f.write('{"Version": "2026-11-01",\n "Statement": [\n  {"Effect": "Allow",}\n]}\n')
        p = self.stack.cli("iam", "create-policy", "broken", "--policy-document", "file://" + path)
        self.assertEqual(p.returncode, API_ERROR, p.stderr)
        self.assertRegex(p.stderr.decode(), r"line 3")
        names = [x["PolicyName"] for x in self.stack.cli_json("iam", "list-policies")["Policies"]]
        self.assertNotIn("typo", names)
        self.assertNotIn("broken", names)
        # a duplicate name, and deleting a policy still attached, are refused
        p = self.stack.cli("iam", "create-policy", "dev-only", "--policy-document",
                           json.dumps(DEV_ONLY))
        self.assertEqual(p.returncode, API_ERROR, p.stderr)
        self.assertIn(b"dev-only", p.stderr)
        p = self.stack.cli("iam", "delete-policy", "dev-only")
        self.assertEqual(p.returncode, API_ERROR, p.stderr)
        self.assertIn(b"dev-only", p.stderr)

    def test_users_and_policies_are_listed(self):
        users = {u["UserName"]: u for u in self.stack.cli_json("iam", "list-users")["Users"]}
        self.assertTrue(users["admin"]["Admin"])
        alice = users["alice"]
        self.assertFalse(alice["Admin"])
        self.assertEqual(alice["PublicKeys"], [self.alice.key])
        self.assertEqual(alice["AttachedPolicies"], ["dev-only"])
        self.assertTrue(alice["CreateDate"])
        pol = self.stack.cli_json("iam", "get-policy", "dev-only")["Policy"]
        self.assertEqual(pol["PolicyName"], "dev-only")
        self.assertEqual(pol["PolicyDocument"], DEV_ONLY)
        self.assertGreaterEqual(pol["AttachmentCount"], 1)
        listed = {x["PolicyName"]: x for x in
                  self.stack.cli_json("iam", "list-policies")["Policies"]}
        self.assertEqual(listed["dev-only"]["AttachmentCount"], pol["AttachmentCount"])
        table = self.stack.cli("iam", "list-users", "--output", "table")
        self.assertEqual(table.returncode, 0, table.stderr)
        self.assertRegex(table.stdout.decode(), r"(?m)^UserName\s+Admin")

    def test_user_lifecycle_and_tags(self):
        name = "gina" + uuid.uuid4().hex[:6]
        out = self.stack.cli_json("iam", "create-user", name, "--tags", "team=web")
        self.assertEqual(out["User"]["UserName"], name)
        self.assertEqual(out["User"]["Tags"], [{"Key": "team", "Value": "web"}])
        self.admin_ok("iam", "tag-user", "--user", name, "--tags", "team=db,site=ams")
        self.admin_ok("iam", "untag-user", "--user", name, "--tag-keys", "site")
        users = {u["UserName"]: u for u in self.stack.cli_json("iam", "list-users")["Users"]}
        self.assertEqual(users[name]["Tags"], [{"Key": "team", "Value": "db"}])
        p = self.stack.cli("iam", "create-user", name)
        self.assertEqual(p.returncode, API_ERROR, p.stderr)
        self.admin_ok("iam", "delete-user", name)
        users = {u["UserName"] for u in self.stack.cli_json("iam", "list-users")["Users"]}
        self.assertNotIn(name, users)
        p = self.stack.cli("iam", "delete-user", "admin")
        self.assertEqual(p.returncode, API_ERROR, p.stderr)

    def test_help_and_usage_errors(self):
        p = self.stack.cli("iam", "--help")
        self.assertEqual(p.returncode, 0)
        for verb in ("create-user", "delete-user", "list-users", "add-user-key",
                     "remove-user-key", "tag-user", "untag-user", "create-policy",
                     "delete-policy", "get-policy", "list-policies", "attach-user-policy",
                     "detach-user-policy", "simulate-principal-policy"):
            self.assertRegex(p.stdout.decode(), rf"(?m)^  {verb}\s")
            h = self.stack.cli("iam", verb, "--help")
            self.assertEqual(h.returncode, 0, verb)
            self.assertIn(f"Usage: porthole iam {verb}".encode(), h.stdout)
            self.assertIn(b"Exit status", h.stdout)
        p = self.stack.cli("iam", "create-user", "no spaces")
        self.assertEqual(p.returncode, 64)
        self.assertIn(b"not a valid user name", p.stderr)
        p = self.stack.cli("iam", "tag-user", "--user", "alice", "--tags", "RunAs=root")
        self.assertEqual(p.returncode, 64)
        self.assertIn(b"root", p.stderr)
        p = self.stack.cli("iam", "frobnicate")
        self.assertEqual(p.returncode, 64)
        self.assertIn(b"porthole iam --help", p.stderr)


if __name__ == "__main__":
    phtest.main()
